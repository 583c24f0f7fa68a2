"""The logs socket of a log page: ``/ws/logs/?cluster=…&namespace=…&pod=…&container=…&after=<RFC 3339>`` for one
container, or ``…&kind=…&name=…&revision=…&container=…`` for a workload's Pods.

The socket is refused for an anonymous user (closed before it is accepted), and closed at once with 4403 for a
user without ``workloads.view_cluster_data`` and ``workloads.view_logs`` or 4404 for a query naming what the
mirror does not know. Once accepted it sends JSON frames, at most one per ``FRAME_INTERVAL``:
``{"lines": [{"t": stamp, "p": pod, "c": container, "s": [[classes, text], …], "k": colour}], "notices": [...],
"dropped": n}``. The page puts every text in as text. Every ``RECHECK`` seconds the session and permissions are
read again (a signed-out or demoted person's socket closes with 4401/4403) and, for a workload, its Pods: a
rollout's new Pods join, deleted ones leave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user as get_user_sync

from workloads import access, identity, kinds, kube, roles
from workloads.browse import lookups
from workloads.logs import reading, streams
from workloads.logs.text import parse_stamp, pod_colour
from workloads.models import Cluster, Pod, Workload

log = logging.getLogger(__name__)

FRAME_INTERVAL = 0.1  # at most ten frames a second to a page
MAX_LINES_PER_FRAME = 2_000
RECHECK = 5.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN = 4404


class Unknown(Exception):
    pass


class LogConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.subs: dict[streams.Key, streams.Subscription] = {}
        self.pump: asyncio.Task | None = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(self._allowed)(user):
            log.warning("logs socket refused for %s: no permission to read logs", user.get_username())
            # Accepted, then closed with the reason: the page can say why it stopped following.
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        params = {k: v[0] for k, v in parse_qs(self.scope.get("query_string", b"").decode("utf-8", "replace")).items()}
        try:
            self.config, targets = await database_sync_to_async(self._targets_for)(user, params)
        except Unknown as exc:
            log.warning("logs socket refused for %s: %s", user.get_username(), exc)
            await self.accept()
            await self.close(code=CLOSE_UNKNOWN)
            return
        self.params = params
        self.after = parse_stamp(params.get("after", "")) if params.get("after") else 0.0
        await self.accept()
        self._follow(targets)
        self.pump = asyncio.create_task(self._pump())

    @staticmethod
    def _allowed(user: object) -> bool:
        return user.has_perm(roles.VIEW) and user.has_perm(roles.LOGS)

    def _targets_for(self, user: object, params: dict[str, str]) -> tuple[kube.ClusterConfig, set[streams.Key]]:
        """``_targets`` as the signed-in person: on a cluster that acts as them, its RBAC must let them read logs."""
        with identity.acting_user(user):
            return self._targets(params)

    def _targets(self, params: dict[str, str]) -> tuple[kube.ClusterConfig, set[streams.Key]]:
        """The (cluster, namespace, Pod, container) keys the query names, from the mirror."""
        cluster = Cluster.objects.filter(name=params.get("cluster", "")).first()
        namespace = params.get("namespace", "")
        if cluster is None or not namespace:
            raise Unknown("no such cluster")
        if not access.may_see(cluster, namespace) or not access.may(
            cluster, "logs", kind="Pod", namespace=namespace, name=params.get("pod", "")
        ):
            raise Unknown("no such Pod or container")
        container = params.get("container", "")
        if params.get("pod"):
            pod = Pod.objects.live().filter(cluster=cluster, namespace=namespace, name=params["pod"]).first()
            names = {c.name for c in reading.container_choices(pod.raw or {})} if pod else set()
            if pod is None or container not in names:
                raise Unknown("no such Pod or container")
            return kube.config_for_cluster(cluster), {(cluster.id, namespace, pod.name, container)}
        kind = kinds.KIND_SLUGS.get(params.get("kind", ""))
        w = (
            Workload.objects.live()
            .filter(cluster=cluster, namespace=namespace, kind=kind, name=params.get("name", ""))
            .first()
        )
        if w is None:
            raise Unknown("no such workload")
        w.cluster = cluster

        chosen = reading.workload_pods(w, lookups.revisions_of(w), params.get("revision", ""))
        keys = set()
        for p in chosen.pods:
            for c in reading.container_choices(p.raw or {}):
                if (container and c.name == container) or (not container and not c.init):
                    keys.add((cluster.id, namespace, p.name, c.name))
        return kube.config_for_cluster(cluster), keys

    def _follow(self, targets: set[streams.Key]) -> None:
        hub = streams.hub()
        for key in set(self.subs) - targets:
            hub.unsubscribe(self.subs.pop(key))
        for key in targets - set(self.subs):
            self.subs[key] = hub.subscribe(key, self.config, after=self.after)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "pump", None):
            self.pump.cancel()
        hub = streams.hub()
        for sub in getattr(self, "subs", {}).values():
            hub.unsubscribe(sub)
        self.subs = {}

    async def receive_json(self, content: object, **kwargs: object) -> None:
        log.info("logs socket: ignored a message from the page")

    async def _pump(self) -> None:
        next_check = time.monotonic() + RECHECK
        try:
            while True:
                await asyncio.sleep(FRAME_INTERVAL)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + RECHECK
                    if not await self._still_allowed():
                        return
                await self._send_frame()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("logs socket failed")
            await self.close()

    async def _send_frame(self) -> None:
        lines, notices, dropped = [], [], 0
        for sub in self.subs.values():
            got, said, lost = sub.take(MAX_LINES_PER_FRAME)
            lines += got
            notices += [n for n in said if n]
            dropped += lost
        if not (lines or notices or dropped):
            return
        lines.sort(key=lambda line: line.at)
        if len(lines) > MAX_LINES_PER_FRAME:
            dropped += len(lines) - MAX_LINES_PER_FRAME
            lines = lines[-MAX_LINES_PER_FRAME:]
        if lines:
            self.after = max(self.after, lines[-1].at)
        frame = [{**line.as_frame(), "k": pod_colour(line.pod)} for line in lines]
        await self.send_json({"lines": frame, "notices": notices, "dropped": dropped})

    async def _still_allowed(self) -> bool:
        code, targets = await database_sync_to_async(self._recheck)()
        if code is not None:
            await self.close(code=code)
            return False
        if targets is not None:
            self._follow(targets)
        return True

    def _recheck(self) -> tuple[int | None, set[streams.Key] | None]:
        session = import_module(settings.SESSION_ENGINE).SessionStore(self.scope["session"].session_key)
        user = get_user_sync(SimpleNamespace(session=session))
        if not user.is_authenticated or user.pk != self.scope["user"].pk:
            return CLOSE_UNAUTHENTICATED, None
        if not self._allowed(user):
            return CLOSE_FORBIDDEN, None
        if self.params.get("pod"):
            return None, None
        try:
            return None, self._targets(self.params)[1]
        except Unknown:
            return None, set()
