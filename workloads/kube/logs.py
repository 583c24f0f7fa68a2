"""Reading a container's log: once (``read_log``), or following it (``follow_log``, a closable iterator).

Logs are never mirrored: they are read from the API server (``pods/{name}/log``) when someone looks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s_client

from workloads.kinds import KINDS
from workloads.kube.client import CONNECT_TIMEOUT, READ_TIMEOUT, request
from workloads.kube.errors import Unreachable

# A log is text/plain; kube-apiserver answers errors as a JSON Status whatever is asked.
ACCEPT = "text/plain, application/json, */*"
MAX_LINE = 64 * 1024  # a longer line is cut (the kubelet splits at 16 KiB; a runaway one must not eat memory)


@dataclass(frozen=True)
class LogQuery:
    """What to read: kube-apiserver's PodLogOptions, in Podium's words."""

    container: str = ""
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str = ""  # RFC 3339
    timestamps: bool = True
    limit_bytes: int | None = None

    def params(self, *, follow: bool) -> list[tuple[str, Any]]:
        query: list[tuple[str, Any]] = []
        if self.container:
            query.append(("container", self.container))
        if follow:
            query.append(("follow", "true"))
        if self.previous:
            query.append(("previous", "true"))
        if self.timestamps:
            query.append(("timestamps", "true"))
        if self.tail_lines is not None:
            query.append(("tailLines", self.tail_lines))
        if self.since_seconds is not None:
            query.append(("sinceSeconds", self.since_seconds))
        if self.since_time:
            query.append(("sinceTime", self.since_time))
        if self.limit_bytes is not None:
            query.append(("limitBytes", self.limit_bytes))
        return query


def _path(namespace: str, pod: str) -> str:
    return KINDS["Pod"].item_path(namespace, pod, "log")


def read_log(api: k8s_client.ApiClient, *, namespace: str, pod: str, query: LogQuery) -> str:
    """The log as text (invalid UTF-8 replaced). Raises Podium's errors: NotFound, Forbidden, KubeError (400)."""
    response = request(api, "GET", _path(namespace, pod), query=query.params(follow=False), accept=ACCEPT)
    return response.data.decode("utf-8", errors="replace")


class LogFollower:
    """Lines of a followed log as they come (without their newline); ``close()`` from any thread ends it."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        buffer = b""
        try:
            for chunk in self._response.stream(amt=None, decode_content=False):
                buffer += chunk
                while True:
                    newline = buffer.find(b"\n")
                    if newline < 0:
                        break
                    line, buffer = buffer[:newline], buffer[newline + 1 :]
                    yield line[:MAX_LINE].decode("utf-8", errors="replace")
                if len(buffer) > MAX_LINE:
                    yield buffer[:MAX_LINE].decode("utf-8", errors="replace")
                    buffer = b""
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if not self._closed.is_set():
                raise Unreachable(f"the log stream broke: {exc}") from exc
        finally:
            self._response.release_conn()
        if buffer and not self._closed.is_set():
            yield buffer.decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._response.shutdown()  # wakes a thread blocked reading it
        except (AttributeError, OSError):
            pass
        try:
            self._response.close()
        except OSError:
            pass


def follow_log(
    api: k8s_client.ApiClient, *, namespace: str, pod: str, query: LogQuery, idle_timeout: float = 3600
) -> LogFollower:
    """Open a followed log; it ends when the container stops, the server ends it, or ``close()``."""
    response = request(
        api,
        "GET",
        _path(namespace, pod),
        query=query.params(follow=True),
        stream=True,
        accept=ACCEPT,
        timeout=(CONNECT_TIMEOUT, max(idle_timeout, READ_TIMEOUT)),
    )
    return LogFollower(response)
