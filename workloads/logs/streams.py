"""Followed logs: one upstream stream per (cluster, Pod, container) in this process, shared by every viewer.

An ``Upstream`` reads ``kube.follow_log`` on a thread of its own and hands each line to the event loop, which
appends it to the upstream's recent-lines ring and to every subscriber's bounded buffer (a subscriber too slow to
keep up loses its oldest lines and is told how many). The last subscriber to leave closes the stream. A stream
that ends (the container stopped, the server ended it, the connection broke) is opened again after a pause while
someone still follows it, from the last line it had, so a restarted container's next instance follows on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from workloads import kube
from workloads.logs.text import Line, parse_line

log = logging.getLogger(__name__)

RING = 500  # lines an upstream keeps for viewers who join late
SUBSCRIBER_BUFFER = 5_000  # lines a subscriber may have waiting before its oldest are dropped
RETRY = 2.0  # seconds before a stream that ended is opened again
IDLE_TIMEOUT = 600  # a stream silent this long is reopened (the server may have lost it)

Key = tuple[int, str, str, str]  # cluster id, namespace, Pod, container


@dataclass(eq=False)  # compared (and hashed) by identity: each viewer's is its own
class Subscription:
    key: Key
    after: float = 0.0  # the viewer has every line up to this time already
    upstream: Upstream | None = None
    pending: deque[Line] = field(default_factory=lambda: deque(maxlen=SUBSCRIBER_BUFFER))
    notices: list[str] = field(default_factory=list)
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, line: Line) -> None:
        if line.at and line.at <= self.after:
            return
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
        self.pending.append(line)
        self.wake.set()

    def notice(self, text: str) -> None:
        self.notices.append(text)
        self.wake.set()

    def take(self, limit: int) -> tuple[list[Line], list[str], int]:
        lines = [self.pending.popleft() for _ in range(min(limit, len(self.pending)))]
        notices, self.notices = self.notices, []
        dropped, self.dropped = self.dropped, 0
        return lines, notices, dropped


class Upstream:
    def __init__(self, hub: Hub, key: Key, config: kube.ClusterConfig) -> None:
        self.hub = hub
        self.key = key
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.subscribers: set[Subscription] = set()
        self.ring: deque[Line] = deque(maxlen=RING)
        self.closed = threading.Event()
        self.follower: kube.LogFollower | None = None
        self.lines_read = 0
        self.last_notice = ""
        self.thread = threading.Thread(target=self._run, name=f"log-{key[2]}-{key[3]}", daemon=True)

    # --- on the stream's thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        _, namespace, pod, container = self.key
        last_at = 0.0
        api = None
        while not self.closed.is_set():
            since = datetime.fromtimestamp(int(last_at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if last_at else ""
            query = kube.LogQuery(container=container, tail_lines=None if since else RING, since_time=since)
            try:
                api = api or kube.api_client_for(self.config)
                self.follower = kube.follow_log(
                    api, namespace=namespace, pod=pod, query=query, idle_timeout=IDLE_TIMEOUT
                )
                if self.closed.is_set():
                    self.follower.close()
                    break
                for raw in self.follower:
                    line = parse_line(raw, pod=pod, container=container)
                    if line.at and line.at <= last_at:
                        continue  # already had it (a reopened stream starts at the last whole second)
                    last_at = line.at or last_at
                    self._hand(self._deliver, line)
                    if self.last_notice:
                        self._hand(self._notice, "")
                if not self.closed.is_set():
                    self._hand(self._notice, f"{pod}/{container}: the log stream ended (the container stopped?)")
            except kube.Forbidden as exc:
                self._hand(self._notice, f"{pod}/{container}: the cluster refuses Podium reading this log: {exc}")
                break
            except kube.NotFound:
                self._hand(self._notice, f"{pod}/{container}: the Pod is no longer in the cluster.")
                break
            except kube.KubeError as exc:
                if not self.closed.is_set():
                    self._hand(self._notice, f"{pod}/{container}: {exc.message}")
            except Exception:  # noqa: BLE001 - a stream's thread must never die silently
                log.exception("log stream %s failed", self.key)
            self.closed.wait(RETRY)
        self.closed.set()  # a later viewer opens a new one

    def _hand(self, callback: object, arg: object) -> None:
        try:
            self.loop.call_soon_threadsafe(callback, arg)  # type: ignore[arg-type]
        except RuntimeError:  # the loop is closed: the process is stopping
            self.closed.set()

    # --- on the event loop ------------------------------------------------------------------------------------------

    def _deliver(self, line: Line) -> None:
        self.lines_read += 1
        self.ring.append(line)
        for sub in self.subscribers:
            sub.push(line)

    def _notice(self, text: str) -> None:
        if text == self.last_notice:
            return  # a stream that keeps ending (a stopped container) says so once
        self.last_notice = text
        for sub in self.subscribers:
            sub.notice(text)

    def close(self) -> None:
        self.closed.set()
        follower = self.follower
        if follower is not None:
            follower.close()


class Hub:
    """This process's followed logs, by key."""

    def __init__(self) -> None:
        self.upstreams: dict[Key, Upstream] = {}
        self.opened = 0  # upstream streams ever opened (the bench and the tests read it)

    def subscribe(self, key: Key, config: kube.ClusterConfig, *, after: float = 0.0) -> Subscription:
        upstream = self.upstreams.get(key)
        if upstream is None or upstream.closed.is_set():
            upstream = Upstream(self, key, config)
            self.upstreams[key] = upstream
            self.opened += 1
            upstream.thread.start()
        sub = Subscription(key, after, upstream)
        for line in upstream.ring:
            sub.push(line)
        upstream.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        upstream = sub.upstream
        if upstream is None:
            return
        upstream.subscribers.discard(sub)
        if not upstream.subscribers:
            upstream.close()
            if self.upstreams.get(sub.key) is upstream:
                del self.upstreams[sub.key]


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (an ASGI process has one; tests may run several loops)."""
    loop_id = id(asyncio.get_running_loop())
    found = _hubs.get(loop_id)
    if found is None:
        found = _hubs[loop_id] = Hub()
    return found
