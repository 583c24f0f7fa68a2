"""The live socket: one per page, carrying out-of-band swaps of the page's own partials.

Protocol (see ``workloads.live.pages``):

- The page connects to ``/ws/live/?sub=<group>&sub=<group>...&page=<the page's path?query>``. The groups are
  those of ``workloads.live`` (``ns.<cluster id>.<namespace>``, ``all.<cluster id>``, ``wl.<cluster id>.<uid>``,
  ``pod.<cluster id>.<uid>``, ``cluster.<cluster id>``). The socket is refused (closed before it is accepted)
  for an anonymous user, a user without ``workloads.view_cluster_data``, a group that is malformed or names a
  cluster, namespace, workload or Pod the mirror does not know, too many groups, or a page that is not a live page.
- Right after it is accepted, the server sends every live partial of the page: a (re)connected page is exact
  again, whatever it missed while it was disconnected.
- On ``mirror.changed`` or ``cluster.status`` in any subscribed group, the server re-renders the page's partials
  and sends, in one text frame, those whose HTML changed, each root element carrying ``hx-swap-oob="true"``; of a
  partial whose shape held, only its inner elements (by ``id``) that changed (``workloads.live.diff``). Table rows
  that changed alone follow in a text frame of their own (HTML parses a ``<tr>`` only where a table may be).
  Frames are coalesced: the first change of a quiet page waits ``GATHER`` seconds for the rest of its batch; a
  busy page gets at most one frame per ``FRAME_INTERVAL``, and waits at least as long as its last render took
  (so that following a busy page takes at most about half of the server's time), on a grid shared by every page of
  the process; a frame is always rendered after the latest change it covers. Pages showing the same thing
  to users with the same permissions share one render.
- Before each frame the session and the user are read again: after a logout, a deactivation or the end of an
  OpenID Connect sign-in (its ID token expired) the socket closes with 4401, after the viewer role is removed with
  4403, and a changed role renders the page as it now shows. The same is looked at every
  ``PODIUM_LIVE_RECHECK_SECONDS`` without a change, and so are the subscriptions: one the cluster no longer lets
  the person see (a RoleBinding removed) closes the socket with 4403, and where a cluster acts as the person the
  page is rendered again, so that a namespace they may no longer see leaves it (and one they may now see comes).
- While Redis (the channel layer) does not answer, the server sends ``{"live": false, "reason": ...}`` (JSON, not
  HTML): no change reaches the page meanwhile. When it answers again, every partial is sent again.
- The client may send ``{"refresh": true}`` to get every partial again. Anything else (binary, not JSON, not an
  object, unknown keys, more than ``MAX_MESSAGE`` characters) is logged and ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs

import redis
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user as get_user_sync
from django.utils import translation

from workloads import identity, roles
from workloads.live import bus as live_bus
from workloads.live import diff as live_diff
from workloads.live import pages as live_pages
from workloads.live import subscriptions
from workloads.models import Cluster
from workloads.oidc.config import oidc_settings

log = logging.getLogger(__name__)

GATHER = 0.01  # seconds the first change of a quiet page waits for the rest of its batch
# Seconds between two frames to one page, at least, and at least its last render's time. At 50 changes a second a
# fixed 0.1 s between frames made a change wait ~50 ms for its frame (issue 16, P3); a page whose render takes
# 0.2 s (1,000 Pods) still gets a frame every ~0.4 s.
FRAME_INTERVAL = 0.02
GRID = 0.02  # busy pages flush on this grid, so that those showing the same thing share a render
MAX_MESSAGE = 4096
MAX_QUERY = 16384
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BUS_DOWN = live_bus.CLOSE_BUS_DOWN  # Redis does not answer: the page retries, and says why it is not live

Fragments = dict[str, str]

# key -> (monotonic time the render started, the render). A render that started after a page's latest
# change message has read everything that change committed, so that page may use it.
_renders: dict[tuple, tuple[float, asyncio.Future[Fragments]]] = {}
# When this process first received each change (by the id the publisher gives it): every page that receives the
# same change then asks for a render that started after that moment, so pages showing the same thing share one
# render however far apart the channel layer delivered the message to them.
_first_seen: dict[str, float] = {}


def first_seen(change: object) -> float:
    now = time.monotonic()
    if not isinstance(change, str) or not change:
        return now
    if len(_first_seen) > 10_000:
        for key, at in list(_first_seen.items()):
            if at < now - 60:
                del _first_seen[key]
    return _first_seen.setdefault(change[:64], now)


async def shared_render(key: tuple, since: float, render: Callable[[], Awaitable[Fragments]]) -> Fragments:
    loop_key = (id(asyncio.get_running_loop()), *key)
    found = _renders.get(loop_key)
    if found and found[0] >= since:
        return await asyncio.shield(found[1])
    started = time.monotonic()
    task = asyncio.ensure_future(render())
    _renders[loop_key] = (started, task)
    if len(_renders) > 500:
        for k, (at, t) in list(_renders.items()):
            if t.done() and at < started - 10:
                del _renders[k]
    try:
        return await asyncio.shield(task)
    except Exception:
        if _renders.get(loop_key, (0, None))[1] is task:
            del _renders[loop_key]
        raise


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        self.sent: Fragments = {}
        self.dirty_at: float | None = None
        self.last_frame_at = 0.0
        self.render_seconds = 0.0
        self.flusher: asyncio.Task | None = None
        self.rechecker: asyncio.Task | None = None
        self.language = live_pages.language_of(self.scope)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            groups, self.page, self.render_key = await self._check(user)
        except subscriptions.Refused as exc:
            log.warning("live socket refused for %s: %s", user.get_username(), exc)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join first, render second: a change committed in between is in the render or in a message.
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        except (redis.RedisError, OSError) as exc:
            # No change could reach this page: say so (the close frame's reason) rather than look live.
            log.warning("live socket: cannot follow its groups, Redis does not answer (%s)", exc)
            try:
                await self._leave()
            except (redis.RedisError, OSError):
                self.groups_joined = []
            await self.accept()
            await self.close(code=CLOSE_BUS_DOWN, reason=self._translated(live_bus.REASON))
            return
        since = time.monotonic()
        try:
            fragments = await shared_render(self.render_key, since, self._render)
        except subscriptions.Refused as exc:
            log.warning("live socket refused for %s: %s", user.get_username(), exc)
            await self._leave()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        await self._send_changed(fragments)
        if not live_bus.monitor().add(self):
            await self._send_not_live(live_bus.REASON)
        self.rechecker = asyncio.create_task(self._recheck())

    def _translated(self, message: str) -> str:
        with translation.override(self.language):
            return translation.gettext(message)

    @database_sync_to_async
    def _check(self, user: object) -> tuple[list[str], live_pages.LivePage, tuple]:
        if not user.has_perm(roles.VIEW):
            raise subscriptions.Refused("no permission to view cluster data")
        query = self.scope.get("query_string", b"")
        if len(query) > MAX_QUERY:
            raise subscriptions.Refused("query string too long")
        params = parse_qs(query.decode("utf-8", "replace"))
        groups = list(dict.fromkeys(params.get("sub", [])))
        pages = params.get("page", [])
        if not groups or len(groups) > subscriptions.MAX_SUBSCRIPTIONS:
            raise subscriptions.Refused(f"{len(groups)} subscriptions")
        if len(pages) != 1:
            raise subscriptions.Refused("one page, please")
        with identity.acting_user(user):  # namespaces the cluster hides from this person are refused
            for group in groups:
                subscriptions.check_subscription(group)
        page = live_pages.resolve_page(pages[0])
        # Pages share a render only when they show the same thing in the same language.
        return groups, page, ((pages[0], self.language), live_pages.permissions_key(user))

    async def _recheck(self) -> None:
        """Look again at what no change message would tell: the sign-in, and what the cluster lets the person see."""
        while True:
            await asyncio.sleep(settings.PODIUM_LIVE_RECHECK_SECONDS)
            if not await self._still_allowed():
                return
            try:
                follows_people = await self._check_subscriptions()
            except subscriptions.Refused as exc:
                log.info("live socket of %s closed: %s", self.scope["user"].get_username(), exc)
                await self._leave()
                await self.close(code=CLOSE_FORBIDDEN)
                return
            if follows_people:
                self.changed()

    @database_sync_to_async
    def _check_subscriptions(self) -> bool:
        """Refuse (raise) a subscription the person may no longer see; True when a cluster acts as the person."""
        user = self.scope["user"]
        with identity.acting_user(user):
            for group in self.groups_joined:
                subscriptions.check_subscription(group)
        return user.is_authenticated and Cluster.objects.impersonating().exists()

    async def _still_allowed(self) -> bool:
        """The session as it is now (the one in the scope was read at connect), or close the socket."""
        code, user, permissions = await self._current_access()
        if code is not None:
            log.info("live socket of %s closed: signed out, deactivated or no longer a viewer", user.get_username())
            await self._leave()
            await self.close(code=code)
            return False
        self.scope["user"], self.render_key = user, (self.render_key[0], permissions)
        return True

    @database_sync_to_async
    def _current_access(self) -> tuple[int | None, object, object]:
        # One trip to the database thread per frame: pages that share a render reach it together.
        session = import_module(settings.SESSION_ENGINE).SessionStore(self.scope["session"].session_key)
        user = get_user_sync(SimpleNamespace(session=session))  # Django's own check, session hash included
        if not user.is_authenticated or user.pk != self.scope["user"].pk:
            return CLOSE_UNAUTHENTICATED, user, None
        # An OpenID Connect sign-in lasts as long as its ID token (the next page request refreshes it, or signs out:
        # workloads.oidc.middleware); a socket cannot refresh it, so it ends with it.
        expires_at = session.get("oidc_expires_at")
        if expires_at is not None and time.time() >= expires_at and oidc_settings() is not None:
            return CLOSE_UNAUTHENTICATED, user, None
        if not user.has_perm(roles.VIEW):
            return CLOSE_FORBIDDEN, user, None
        return None, user, live_pages.permissions_key(user)

    @database_sync_to_async
    def _render(self) -> Fragments:
        with translation.override(self.language):
            return live_pages.render_fragments(self.page, self.scope["user"])

    async def disconnect(self, code: int) -> None:
        live_bus.monitor().discard(self)
        if getattr(self, "flusher", None):
            self.flusher.cancel()
        if getattr(self, "rechecker", None):
            self.rechecker.cancel()
        try:
            await self._leave()
        except (redis.RedisError, OSError):
            log.info("live socket: could not leave its groups, Redis does not answer")

    def bus_changed(self, ok: bool, reason: str) -> None:
        """Redis stopped or started answering (``live_bus``): say so, or send the whole page again."""
        if ok:
            self.sent = {}
            self.changed()
        else:
            asyncio.ensure_future(self._send_not_live(reason))

    async def _send_not_live(self, reason: str) -> None:
        # A control frame (JSON, not HTML): the page's live indicator says "not live" and why (static/podium.js).
        try:
            await self.send(text_data=json.dumps({"live": False, "reason": self._translated(reason)}))
        except Exception:  # the socket closed meanwhile: nobody to tell
            log.debug("live socket: could not say it is not live", exc_info=True)

    async def _leave(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    # --- from the page -------------------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE:
            log.warning("live socket: ignored a %s message", "binary" if text_data is None else "too long")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: a few thousand brackets fit in MAX_MESSAGE
            log.warning("live socket: ignored a message that is not JSON (or nests too deep): %r", text_data[:80])
            return
        if isinstance(content, dict) and content.get("refresh") is True:
            self.sent = {}
            self.changed()
            return
        log.warning("live socket: ignored a message it does not understand: %r", text_data[:80])

    # --- from the sync layer ----------------------------------------------------------------------------------------

    async def mirror_changed(self, event: dict) -> None:
        if (
            self.page.view in live_pages.EVENTLESS_VIEWS
            and set(event.get("kinds") or ()) <= {"Event"}
            and ("namespace" in event or "namespaces" in event)
        ):
            return
        self.changed(first_seen(event.get("change")))

    async def cluster_status(self, event: dict) -> None:
        self.changed(first_seen(event.get("change")))

    # --- coalescing -----------------------------------------------------------------------------------------------

    def changed(self, seen: float | None = None) -> None:
        seen = time.monotonic() if seen is None else seen
        self.dirty_at = seen if self.dirty_at is None else max(self.dirty_at, seen)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self.dirty_at is not None:
            at = self.dirty_at + GATHER
            next_slot = self.last_frame_at + max(FRAME_INTERVAL, self.render_seconds)
            if next_slot > at:
                # Busy: wait for the next slot on a grid every page of this process shares, so that pages
                # showing the same thing flush together and share one render.
                at = math.ceil(next_slot / GRID) * GRID
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            since, self.dirty_at = self.dirty_at, None
            if not await self._still_allowed():
                return
            started = time.monotonic()
            try:
                fragments = await shared_render(self.render_key, since, self._render)
            except subscriptions.Refused as exc:
                log.info("live page no longer renders: %s", exc)
                continue
            except Exception:
                log.exception("live render failed for %s", self.page.path)
                continue
            self.render_seconds = time.monotonic() - started
            await self._send_changed(fragments)

    async def _send_changed(self, fragments: Fragments) -> None:
        changed: list[str] = []
        for element_id, html in fragments.items():
            old = self.sent.get(element_id)
            if old == html:
                continue
            # Only the elements that changed (a Pod's row, not its 1,000-row table), when the shape around them holds.
            pieces = None
            if old is not None and settings.PODIUM_LIVE_ELEMENT_SWAPS:
                pieces = live_diff.changed_elements(old, html)
            if pieces is None:
                changed.append(html)
            else:
                changed.extend(live_pages.out_of_band(piece)[1] for piece in pieces)
        if not changed:
            return
        self.sent.update(fragments)
        for message in live_diff.messages_for(changed):
            await self.send(text_data=message)
        self.last_frame_at = time.monotonic()
