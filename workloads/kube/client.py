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

from workloads.kube.errors import KubeError, Unreachable, from_status

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


def api_client_for(config: ClusterConfig) -> k8s_client.ApiClient:
    """An ApiClient exactly as the official client builds one: kubeconfig server, CA, client
    certificates, tokens and exec plugins; ``KUBECONFIG`` with several files; or in-cluster."""
    try:
        if config.connection == "in-cluster":
            configuration = k8s_client.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)
            return k8s_client.ApiClient(configuration)
        path = config.kubeconfig_path or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        return k8s_config.new_client_from_config(config_file=path, context=config.context or None, persist_config=False)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise KubeError(f"cannot load the cluster's configuration: {exc}") from exc


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
    try:
        response = api.rest_client.request(
            method_, url, headers=headers, body=body, _request_timeout=timeout or (CONNECT_TIMEOUT, READ_TIMEOUT)
        ).response
    except k8s_client.ApiException as exc:  # the client's own wrapper of TLS errors
        raise Unreachable(f"cannot reach the API server: {exc.reason}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
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
            buffer += chunk
            while True:
                newline = buffer.find(b"\n")
                if newline < 0:
                    break
                line, buffer = buffer[:newline], buffer[newline + 1 :]
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
