"""One watcher: list once, then watch from the stored resourceVersion, applying events in batches.

It runs while it holds the (cluster, kind) lease in Redis. A watch that ends is resumed from the
last resourceVersion (bookmarks keep it fresh); 410 Expired means list again and mark deleted what
disappeared; connection errors back off and retry. Its state and errors are kept in SyncState.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from workloads import kube
from workloads.kinds import SYNC_KINDS
from workloads.live import publish as live
from workloads.models import Cluster, SyncState
from workloads.sync import ingest, samples
from workloads.sync.lease import Lease, lease_key, redis_client

log = logging.getLogger(__name__)

BATCH_MAX_EVENTS = 500
# Seconds a batch may wait for more events once it has one. A batch's fixed cost (two transactions, a handful of
# queries, one publish: a few ms) is most of a small batch's: at 0.01 s a busy cluster's Pods came about 8 to a
# batch, and its ReplicaSets (a status for every few Pod changes) one or two. A quiet watcher writes a lone change at
# once (what a person watching a page notices). Above BUSY_RATE events a second (over the last second) the wait
# grows by WAIT_PER_RATE seconds for each event a second more, up to BUSY_BATCH_MAX_WAIT (reached at 350 a second):
# a change a person makes to a page now and then (50 a second make 100 events with their status) stays at once.
BATCH_MAX_WAIT = 0.01
BUSY_BATCH_MAX_WAIT = 0.25
BUSY_RATE = 100
WAIT_PER_RATE = 0.001
# Events are history nobody watches at a tenth of a second: they batch fully from a lower rate (a busy cluster's
# readiness changes came as 40 Events a second, two to a batch of a few ms each).
EVENTS_BUSY_RATE = 10
WATCH_TIMEOUT = 240
RENEW_EVERY = 3.0
SAVE_EVERY = 0.5  # seconds between saves of the resourceVersion a watch has reached
# A bookmark alone (a quiet kind's watch says where it is, every few seconds) is saved less often: resuming from an
# older one re-applies nothing, and 17 kinds saving one a second was a commit each.
BOOKMARK_SAVE_EVERY = 30.0
# Seconds a busy watcher's rollout points wait to be recorded together (see samples.Deferred).
POINTS_EVERY = 1.0
LAG_HOLD = 10.0  # seconds pages keep saying it after the watcher caught up
# A cluster that comes back is followed again within this many seconds.
MAX_BACKOFF = 8.0
_END = object()
_OPEN = object()  # the server answered the watch request


def batch_wait(kind: str, rate: float) -> float:
    """How long a batch of ``kind`` waits for more events, at ``rate`` events a second (see BATCH_MAX_WAIT)."""
    if kind == "Event":
        return BUSY_BATCH_MAX_WAIT if rate >= EVENTS_BUSY_RATE else BATCH_MAX_WAIT
    return min(BUSY_BATCH_MAX_WAIT, max(BATCH_MAX_WAIT, (rate - BUSY_RATE) * WAIT_PER_RATE))


class LeaseLost(Exception):
    """Another watcher may hold the lease now: stop at once."""


def _status_for(exc: kube.KubeError) -> str:
    if isinstance(exc, kube.Unauthorized):
        return SyncState.Status.UNAUTHORIZED
    if isinstance(exc, kube.Forbidden):
        return SyncState.Status.FORBIDDEN
    if isinstance(exc, kube.Unreachable):
        return SyncState.Status.UNREACHABLE
    return SyncState.Status.ERROR


def refresh_cluster_status(cluster_id: int) -> None:
    """The cluster's status is the worst of its watchers', with the server's message. Watchers refresh it at
    once: the Cluster row is locked while its watchers' states are read and it is written, so that one that
    read before another watcher's change cannot write its older answer after that watcher's newer one."""
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None:
            return
        states = list(SyncState.objects.filter(cluster_id=cluster_id))
        changed = _write_status(cluster, states)
    if changed:
        live.publish_cluster_status(cluster_id)


def _write_status(cluster: Cluster, states: list[SyncState]) -> bool:
    status, message = Cluster.Status.CONNECTED, ""
    by_status: dict[str, list[SyncState]] = {}
    for s in states:
        by_status.setdefault(s.status, []).append(s)
    for worst in ("unauthorized", "unreachable", "forbidden", "error"):
        if worst in by_status:
            status = worst
            failing = by_status[worst]
            if worst == "forbidden":
                kinds = ", ".join(sorted(s.kind for s in failing))
                message = f"forbidden to list/watch: {kinds}. {failing[0].last_error}"
            else:
                message = failing[0].last_error
            break
    else:
        if not any(s.last_synced_at for s in states):
            status = Cluster.Status.PENDING
    last_sync = max((s.last_synced_at for s in states if s.last_synced_at), default=None)
    lag = max((s.lag_seconds for s in states if s.status == SyncState.Status.WATCHING), default=0)
    now = (status, message[:2000], last_sync, lag)
    if (cluster.status, cluster.status_message[:2000], cluster.last_sync_at, cluster.mirror_lag_seconds) == now:
        return False
    Cluster.objects.filter(pk=cluster.pk).update(
        status=status, status_message=message[:2000], last_sync_at=last_sync, mirror_lag_seconds=lag
    )
    return True


class Watcher:
    def __init__(self, cluster_id: int, kind: str, *, holder: str, run_seconds: float = 600.0) -> None:
        self.cluster_id, self.kind, self.holder = cluster_id, kind, holder
        self.kube_kind = kube.kind_for(kind)
        self.run_seconds = run_seconds
        self.lease = Lease(redis_client(), lease_key(cluster_id, kind), holder)
        self._api: Any = None
        self._renewed_at = 0.0
        self.points = samples.Deferred(cluster_id, every=POINTS_EVERY)

    # --- state ---------------------------------------------------------------------------------

    def state(self) -> SyncState:
        state, _ = SyncState.objects.get_or_create(cluster_id=self.cluster_id, kind=self.kind)
        return state

    def save_state(self, **fields: Any) -> None:
        # One UPDATE (the row exists once the first watch of this kind began), not update_or_create's locked read
        # and full save: this runs every SAVE_EVERY while events flow.
        mine = SyncState.objects.filter(cluster_id=self.cluster_id, kind=self.kind)
        if not mine.update(**fields, updated_at=timezone.now()):
            SyncState.objects.update_or_create(cluster_id=self.cluster_id, kind=self.kind, defaults=fields)

    def api(self) -> Any:
        if self._api is None:
            cluster = Cluster.objects.get(pk=self.cluster_id)
            self._api = kube.api_client_for(kube.config_for_cluster(cluster))
        return self._api

    def renew(self, *, force: bool = False) -> bool:
        """Keep the lease; False when it is lost or Redis cannot say (then another may hold it)."""
        if force or time.monotonic() - self._renewed_at >= RENEW_EVERY:
            try:
                if not self.lease.renew():
                    return False
            except redis.RedisError:
                log.warning("%s/%s: Redis does not answer; giving the lease up", self.cluster_id, self.kind)
                return False
            self._renewed_at = time.monotonic()
        return True

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> str:
        try:
            if not self.lease.acquire():
                return "held elsewhere"
        except redis.RedisError:
            return "redis unavailable"
        self._renewed_at = time.monotonic()
        active = f"podium:active:{self.cluster_id}:{self.kind}"
        try:
            self.lease.client.incr(active)
            return self._loop()
        except LeaseLost:
            return "lease lost"
        finally:
            try:
                self.lease.client.decr(active)
            except redis.RedisError:
                pass
            self.lease.release()
            if self._api is not None:
                self._api.close()
            connection.close()

    def _loop(self) -> str:
        deadline = time.monotonic() + self.run_seconds
        backoff = 1.0
        while time.monotonic() < deadline:
            if not self.renew(force=True):
                return "lease lost"
            close_old_connections()
            try:
                resource_version = self.state().resource_version
                if not resource_version:
                    resource_version = self.relist()
                self.watch(resource_version, deadline)
                backoff = 1.0
            except kube.Expired:
                log.info("%s/%s: resourceVersion expired, listing again", self.cluster_id, self.kind)
                self.save_state(resource_version="")
            except kube.KubeError as exc:
                log.warning("%s/%s: %s", self.cluster_id, self.kind, exc)
                if isinstance(exc, kube.Unreachable):
                    self._api = None  # rebuild: the server may have new certificates
                self.save_state(status=_status_for(exc), last_error=str(exc)[:2000])
                refresh_cluster_status(self.cluster_id)
                pause_until = time.monotonic() + backoff
                while time.monotonic() < pause_until:
                    if not self.renew():
                        return "lease lost"
                    time.sleep(0.25)
                backoff = min(backoff * 2, MAX_BACKOFF)
        return "done"

    def relist(self) -> str:
        self.save_state(status=SyncState.Status.LISTING)
        if self.kind == "Namespace":
            Cluster.objects.filter(pk=self.cluster_id).update(server_version=kube.server_version(self.api()))
        changed, resource_version, _ = ingest.replace_all(
            self.cluster_id, self.kind, self._renewing(kube.list_pages(self.api(), self.kube_kind, read_ahead=True))
        )
        live.publish_relisted(self.cluster_id, changed)
        if self.kind == "Deployment":
            samples.prune(self.cluster_id)
        now = timezone.now()
        self.save_state(
            resource_version=resource_version,
            status=SyncState.Status.WATCHING,
            last_error="",
            last_synced_at=now,
            last_event_at=now,
            lease_holder=self.holder,
        )
        refresh_cluster_status(self.cluster_id)
        return resource_version

    def _renewing(self, pages: Any) -> Any:
        """Pass pages through, keeping the lease while a long list goes on."""
        for page in pages:
            if not self.renew():
                raise LeaseLost
            yield page

    def watch(self, resource_version: str, deadline: float) -> None:
        """Follow one watch until it ends, applying events in batches."""
        events: queue.Queue = queue.Queue(maxsize=20_000)
        timeout = int(max(5, min(WATCH_TIMEOUT, deadline - time.monotonic())))

        api = self.api()

        def read() -> None:
            try:
                stream = kube.watch_objects(
                    api,
                    self.kube_kind,
                    resource_version=resource_version,
                    timeout_seconds=timeout,
                    answer_within=settings.PODIUM_KUBE_REQUEST_TIMEOUT,
                )
                events.put((time.monotonic(), _OPEN))
                for type_, obj in stream:
                    events.put((time.monotonic(), ingest.prepare(self.kind, type_, obj)))
                events.put((time.monotonic(), _END))
            except Exception as exc:  # handed to the loop, which knows what each error means
                events.put((time.monotonic(), exc))

        threading.Thread(target=read, daemon=True, name=f"watch-{self.cluster_id}-{self.kind}").start()
        self._lag_shown, self._lag_held_until = 0, 0.0
        self._saved_version, self._saved_at = resource_version, time.monotonic()
        heard_at = time.monotonic()
        wait = BATCH_MAX_WAIT
        counted_since, counted = time.monotonic(), 0  # events of the current second, for the rate
        try:
            while True:
                if not self.renew():
                    raise LeaseLost
                try:
                    received, first = events.get(timeout=1.0)
                except queue.Empty:
                    wait = BATCH_MAX_WAIT
                    self.points.flush(now=True)
                    self.note_lag(0)  # nothing waits: caught up
                    if time.monotonic() - heard_at >= settings.PODIUM_WATCH_PROBE_SECONDS:
                        self.probe()
                        heard_at = time.monotonic()
                    continue
                heard_at = time.monotonic()
                if first is _OPEN:
                    # Only a watch the server has answered is followed: until then the cluster is not "connected".
                    self.save_state(status=SyncState.Status.WATCHING, last_error="", lease_holder=self.holder)
                    # A lag shown by the watcher before this one (its lease lapsed while it was stuck) is ours to
                    # clear; read after our name is on the row, so that its late writes no longer land.
                    self._lag_shown = int(self.state().lag_seconds)
                    self._lag_held_until = time.monotonic() + LAG_HOLD
                    refresh_cluster_status(self.cluster_id)
                    continue
                batch = self.gather(events, first, wait)
                tail = batch[-1]
                if tail is _END or isinstance(tail, Exception):
                    batch.pop()
                counted += len(batch)
                if (elapsed := time.monotonic() - counted_since) >= 1.0:
                    wait = batch_wait(self.kind, counted / elapsed)
                    counted_since, counted = time.monotonic(), 0
                if batch:
                    resource_version = self.apply(batch, resource_version)
                    self.points.flush(now=wait == BATCH_MAX_WAIT)
                    self.note_lag(time.monotonic() - received)
                if tail is _END:
                    return
                if isinstance(tail, Exception):
                    raise tail
        except LeaseLost:
            raise  # another watcher may have saved a newer resourceVersion by now
        finally:
            if self.lease_held():
                self.points.flush(now=True)
                if self._saved_version != resource_version:
                    self.save_version(resource_version)

    @staticmethod
    def gather(events: queue.Queue, first: Any, wait: float) -> list:
        """A batch: ``first`` and what follows within ``wait`` seconds, up to BATCH_MAX_EVENTS, ending early at the
        end of the watch or an error. It sleeps out the wait and then takes what came, rather than waking for each
        event as it arrives (a wake-up per event cost more than the event's parsing); a backlog of a whole batch
        is taken at once."""
        batch = [first]
        if first is _END or isinstance(first, Exception):
            return batch
        if events.qsize() < BATCH_MAX_EVENTS - 1:
            time.sleep(wait)
        while len(batch) < BATCH_MAX_EVENTS:
            try:
                item = events.get_nowait()[1]
            except queue.Empty:
                break
            batch.append(item)
            if item is _END or isinstance(item, Exception):
                break
        return batch

    def lease_held(self) -> bool:
        try:
            return self.lease.renew()
        except redis.RedisError:
            return False

    def probe(self) -> None:
        """A silent watch may be a quiet namespace or a hung API server: ask for its version, on a new connection,
        within the short deadline. Unreachable when it does not answer; any answer means it is alive."""
        cluster = Cluster.objects.get(pk=self.cluster_id)
        api = kube.api_client_for(kube.config_for_cluster(cluster), deadline=settings.PODIUM_KUBE_REQUEST_TIMEOUT)
        try:
            kube.server_version(api)
        except kube.Unreachable:
            raise
        except kube.KubeError:
            pass
        finally:
            api.close()

    def apply(self, batch: list[ingest.Prepared], resource_version: str) -> str:
        changes = [p for p in batch if p.type in ingest.CHANGES]
        newest = max((p.resource_version for p in batch), default=0)
        if changes:
            changed = ingest.apply_events(self.cluster_id, self.kind, changes, deferred=self.points)
            live.publish(self.cluster_id, changed)
        if newest and newest > int(resource_version or 0):
            resource_version = str(newest)
            if time.monotonic() - self._saved_at >= (SAVE_EVERY if changes else BOOKMARK_SAVE_EVERY):
                self.save_version(resource_version)
        return resource_version

    def save_version(self, resource_version: str) -> None:
        """Where to resume from; saved at most every SAVE_EVERY (a resume re-applies what followed, which the
        resourceVersion guard makes harmless) and when the watch ends."""
        now = timezone.now()
        self.save_state(resource_version=resource_version, last_event_at=now, last_synced_at=now)
        self._saved_version, self._saved_at = resource_version, time.monotonic()

    def note_lag(self, seconds: float) -> None:
        """How late the mirror is, kept where pages read it once it passes PODIUM_LAG_SHOWN_SECONDS (in whole
        seconds). Once shown, it stays LAG_HOLD after the watcher caught up, so that a page that looks away
        briefly still sees it."""
        shown = int(seconds) if seconds >= settings.PODIUM_LAG_SHOWN_SECONDS else 0
        now = time.monotonic()
        if shown:
            self._lag_held_until = now + LAG_HOLD
        elif self._lag_shown and now < self._lag_held_until:
            return
        if shown != self._lag_shown:
            self._lag_shown = shown
            # Only while this watcher is the one on record: one that took over may have cleared it already.
            mine = SyncState.objects.filter(cluster_id=self.cluster_id, kind=self.kind, lease_holder=self.holder)
            if mine.update(lag_seconds=shown):
                refresh_cluster_status(self.cluster_id)


def sync_once(cluster: Cluster, kinds: list[str] | None = None) -> dict[str, int]:
    """List every kind once (no watch, no lease) and mirror it; returns the object count per kind."""
    api = kube.api_client_for(kube.config_for_cluster(cluster))
    counts: dict[str, int] = {}
    try:
        try:
            Cluster.objects.filter(pk=cluster.pk).update(server_version=kube.server_version(api))
        except kube.KubeError:
            pass
        for kind in kinds or SYNC_KINDS:
            try:
                changed, resource_version, count = ingest.replace_all(
                    cluster.pk, kind, kube.list_pages(api, kube.kind_for(kind), read_ahead=True)
                )
            except kube.KubeError as exc:
                SyncState.objects.update_or_create(
                    cluster=cluster, kind=kind, defaults={"status": _status_for(exc), "last_error": str(exc)[:2000]}
                )
                counts[kind] = -1
                continue
            live.publish_relisted(cluster.pk, changed)
            SyncState.objects.update_or_create(
                cluster=cluster,
                kind=kind,
                defaults={
                    "resource_version": resource_version,
                    "status": SyncState.Status.IDLE,
                    "last_error": "",
                    "last_synced_at": timezone.now(),
                },
            )
            counts[kind] = count
    finally:
        api.close()
    refresh_cluster_status(cluster.pk)
    return counts
