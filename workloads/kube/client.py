"""Building an API client for a Cluster, and the one function every request goes through."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from workloads.kube.errors import KubeError, NoAnswer, Unreachable, from_status

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class ClusterConfig:
    """How to reach one cluster: kubeconfig (path + context) or the in-cluster service account."""

    connection: str  # "democluster", "kubeconfig" or "in-cluster"
    kubeconfig_path: str = ""
    context: str = ""


def config_for_cluster(cluster: Any) -> ClusterConfig:
    return ClusterConfig(cluster.connection, cluster.kubeconfig_path, cluster.context)


def api_client_for(
    config: ClusterConfig, *, deadline: float | None = None, impersonate: list[tuple[str, str]] | None = None
) -> k8s_client.ApiClient:
    """An ApiClient exactly as the official client builds one: kubeconfig server, CA, client
    certificates, tokens and exec plugins; ``KUBECONFIG`` with several files; or in-cluster.

    ``deadline``: for requests a person waits for (edits, dry runs, scale...): each request then gets that many
    seconds in all. urllib3 retries nothing, for anyone: a retried write may apply twice, a hung API server would
    make everyone wait once per retry (4 x 30 s), and Podium's own callers know what to do again (the watchers
    back off and retry; a person sees the error).

    ``impersonate``: ``Impersonate-User``/``Impersonate-Group`` headers sent with every request of this client, so
    the cluster acts as (and authorizes) that person; a header may repeat (one per group)."""
    configuration = type.__call__(k8s_client.Configuration)  # not the process-wide default (as the client does)
    configuration.retries = False
    try:
        if config.connection == "in-cluster":
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            path = config.kubeconfig_path or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            k8s_config.load_kube_config(
                config_file=path,
                context=config.context or None,
                client_configuration=configuration,
                persist_config=False,
            )
        api = k8s_client.ApiClient(configuration)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise KubeError(f"cannot load the cluster's configuration: {exc}") from exc
    api.podium_deadline = deadline
    api.podium_impersonate = list(impersonate or [])
    return api


def request(
    api: k8s_client.ApiClient,
    method: str,
    path: str,
    *,
    query: list[tuple[str, Any]] | None = None,
    body: Any = None,
    content_type: str = "application/json",
    stream: bool = False,
    timeout: float | tuple[float, float] | None = None,
    accept: str = "application/json",
) -> urllib3.BaseHTTPResponse:
    """Send one request and return the raw response; any non-2xx answer raises Podium's error."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
        # The client's REST layer serializes JSON bodies itself (json.dumps); bytes would fail there.
        if isinstance(body, (bytes, str)):
            body = orjson.loads(body)
    method_, url, headers, body, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    impersonate = getattr(api, "podium_impersonate", None)
    if impersonate:
        # A dict cannot hold a header twice; urllib3's HTTPHeaderDict sends each added value as its own header.
        headers = urllib3.HTTPHeaderDict(headers)
        for name, value in impersonate:
            headers.add(name, value)
    deadline = getattr(api, "podium_deadline", None)
    if timeout is None:
        # A number is a total deadline for the whole request (urllib3.Timeout(total=...)).
        timeout = deadline or (CONNECT_TIMEOUT, READ_TIMEOUT)
    try:
        response = api.rest_client.request(method_, url, headers=headers, body=body, _request_timeout=timeout).response
    except k8s_client.ApiException as exc:  # the client's own wrapper of TLS errors
        raise Unreachable(f"cannot reach the API server: {exc.reason}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if _timed_out(exc):
            raise (NoAnswer if _sent(exc) else Unreachable)(
                f"the API server did not answer within {_seconds(timeout)} s (it accepts connections but does not "
                "respond)"
            ) from exc
        raise Unreachable(f"cannot reach the API server: {exc}") from exc
    if response.status >= 300:
        data = response.data
        try:
            status = orjson.loads(data) if data else None
        except orjson.JSONDecodeError:
            status = None
        raise from_status(
            response.status, status if isinstance(status, dict) else None, data[:300].decode(errors="replace")
        )
    if not stream:
        response.data  # noqa: B018 - read it all now, inside the error handling above
    return response


def _timed_out(exc: BaseException | None) -> bool:
    """It accepted the connection (or never finished it) but did not answer in time; not a refused connection
    (urllib3's NewConnectionError subclasses ConnectTimeoutError)."""
    for _depth in range(5):
        if exc is None or isinstance(exc, urllib3.exceptions.NewConnectionError):
            return False
        if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
            return True
        exc = getattr(exc, "reason", None) or exc.__cause__
    return False


def _sent(exc: BaseException | None) -> bool:
    """The timeout came while waiting for the answer (the request had gone out), not while connecting."""
    for _depth in range(5):
        if exc is None or isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
            return False
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            return True
        exc = getattr(exc, "reason", None) or exc.__cause__
    return False


def _seconds(timeout: float | tuple[float, float]) -> str:
    value = timeout[1] if isinstance(timeout, tuple) else timeout
    return f"{value:g}"


def set_read_timeout(response: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Wait this long for each read of a response already answered (a watch: its headers came within the short
    deadline; its events may be minutes apart)."""
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def request_json(api: k8s_client.ApiClient, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = request(api, method, path, **kwargs)
    try:
        return orjson.loads(response.data)
    except orjson.JSONDecodeError as exc:
        raise KubeError(f"the API server sent something that is not JSON: {exc}") from exc


def iter_lines(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    buffer = b""
    try:
        for chunk in response.stream(amt=None, decode_content=False):
            if b"\n" not in chunk:
                buffer += chunk
                continue
            # One split per chunk: cutting a line at a time off the buffer copied the rest each time (a chunk read
            # behind a busy watch holds many events).
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unreachable(f"the watch connection broke: {exc}") from exc
    finally:
        response.release_conn()
    if buffer.strip():
        yield buffer


def server_version(api: k8s_client.ApiClient) -> str:
    return request_json(api, "GET", "/version").get("gitVersion", "")
