"""Whether the message bus of the live pages (Redis, the Channels layer) answers, for every open socket.

While Redis is down a socket stays open but no change reaches it: the page must not go on saying "live". One task
per process (per event loop) pings Redis every ``CHECK_EVERY`` seconds and tells each registered consumer when the
answer changes; the consumer then tells its page (a control frame) and, when Redis is back, sends the whole page
again, since it missed whatever changed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import redis
import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds between two pings
PING_TIMEOUT = 2.0
REASON = "the message bus (Redis) does not answer, so changes in the cluster do not reach this page until it is back"


class Listener(Protocol):
    def bus_changed(self, ok: bool, reason: str) -> None: ...


class BusMonitor:
    def __init__(self) -> None:
        self.ok = True
        self.listeners: set[Listener] = set()
        self.task: asyncio.Task | None = None

    def add(self, listener: Listener) -> bool:
        """Register; returns whether the bus answered at the last check."""
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        return self.ok

    def discard(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    async def _run(self) -> None:
        client = aioredis.from_url(settings.REDIS_URL, socket_timeout=PING_TIMEOUT, socket_connect_timeout=PING_TIMEOUT)
        try:
            while self.listeners:
                try:
                    ok = bool(await client.ping())
                except (TimeoutError, redis.RedisError, OSError) as exc:
                    ok = False
                    if self.ok:
                        log.warning("live pages: Redis does not answer (%s)", exc)
                if ok != self.ok:
                    self.ok = ok
                    for listener in list(self.listeners):
                        listener.bus_changed(ok, "" if ok else REASON)
                await asyncio.sleep(CHECK_EVERY)
        finally:
            await client.aclose()


_monitors: dict[int, BusMonitor] = {}


def monitor() -> BusMonitor:
    """The monitor of the running event loop (tests run several loops in one process)."""
    return _monitors.setdefault(id(asyncio.get_running_loop()), BusMonitor())
