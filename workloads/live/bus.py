"""Whether the message bus of the live pages (Redis, the Channels layer) answers, for every open socket.

While Redis is down a socket stays open but no change reaches it: the page must not go on saying "live". One task
per process (per event loop) pings Redis every ``CHECK_EVERY`` seconds and tells each registered consumer when the
answer changes; the consumer then tells its page (a control frame) and, when Redis is back, sends the whole page
again, since it missed whatever changed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.utils.translation import gettext_noop

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds between two pings
PING_TIMEOUT = 2.0
# Marked for the catalog; each socket translates it into its page's language (a close frame's reason is at most
# 123 bytes of UTF-8, so the translation must stay short).
REASON = gettext_noop(
    "the message bus (Redis) does not answer, so changes in the cluster do not reach this page until it is back"
)


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


CLOSE_BUS_DOWN = 4503  # the page retries, and says why it is not live (static/podium/podium.js)
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
Asgi = Callable[[dict, Receive, Send], Awaitable[None]]


def guard(app: Asgi) -> Asgi:
    """A socket opened while Redis does not answer fails before its consumer runs (the channel layer subscribes
    to the consumer's own channel first): accept it and close it with CLOSE_BUS_DOWN and the reason, so that the
    page says why it is not live instead of looking like a server that went away."""

    async def guarded(
        scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]
    ) -> None:
        answered = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal answered
            answered = True
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        except (redis.RedisError, OSError) as exc:
            if answered:
                raise
            log.warning("live socket: Redis does not answer (%s)", exc)
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_BUS_DOWN, "reason": REASON})

    return guarded
