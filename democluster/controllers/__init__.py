"""The controllers, the scheduler and the simulated kubelet, run as asyncio tasks beside the API server.

The store calls one listener on every committed change; it keeps the owner/node indexes and lets
each controller enqueue the keys it cares about. Each controller drains its queue once per tick.
"""

from __future__ import annotations

import asyncio

from democluster.config import SimConfig
from democluster.controllers.base import Context, Controller
from democluster.controllers.cronjob import CronJobController
from democluster.controllers.daemonset import DaemonSetController
from democluster.controllers.deployment import DeploymentController
from democluster.controllers.disruption import DisruptionController
from democluster.controllers.endpointslice import EndpointSliceController
from democluster.controllers.gc import GarbageCollector
from democluster.controllers.job import JobController
from democluster.controllers.kubelet import Kubelet, ensure_nodes
from democluster.controllers.replicaset import ReplicaSetController
from democluster.controllers.scheduler import Scheduler
from democluster.controllers.statefulset import StatefulSetController
from democluster.resources import Resource
from democluster.store import Obj, Store

CONTROLLERS: tuple[type[Controller], ...] = (
    DeploymentController,
    ReplicaSetController,
    StatefulSetController,
    DaemonSetController,
    JobController,
    CronJobController,
    EndpointSliceController,
    DisruptionController,
    GarbageCollector,
    Scheduler,
)


def build(store: Store, config: SimConfig) -> Context:
    """Create the controllers, the scheduler and the kubelet and hook them to the store (no tasks yet)."""
    ctx = Context(store, config)
    for cls in CONTROLLERS:
        ctx.controllers[cls.name] = cls(ctx)
    kubelet = Kubelet(ctx)
    ctx.kubelet = kubelet  # type: ignore[attr-defined]
    controllers = list(ctx.controllers.values())

    def listener(type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        ctx.index.observe(res.key, old, None if type_ == "DELETED" else new)
        for controller in controllers:
            controller.on_change(type_, res, old, new)
        kubelet.on_change(type_, res, old, new)

    store.listeners.append(listener)
    ctx.listener = listener  # type: ignore[attr-defined]
    ensure_nodes(ctx)
    # Reconcile what already exists (a loaded snapshot, objects created before start).
    for controller in controllers:
        res = getattr(controller, "res", None)
        if res is not None:
            for obj in store.list(res):
                controller.enqueue((obj["metadata"].get("namespace") or "", obj["metadata"]["name"]))
    return ctx


def start(store: Store, config: SimConfig) -> list[asyncio.Task]:
    """Start every controller, the scheduler and the kubelet on the running loop; cancel the tasks to stop them."""
    ctx = build(store, config)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(c.run(), name=f"democluster-{c.name}") for c in ctx.controllers.values()]
    tasks.append(loop.create_task(ctx.kubelet.run(), name="democluster-kubelet"))  # type: ignore[attr-defined]
    tasks.append(loop.create_task(_detach_on_cancel(store, ctx), name="democluster-controllers"))
    return tasks


async def _detach_on_cancel(store: Store, ctx: Context) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        if ctx.listener in store.listeners:  # type: ignore[attr-defined]
            store.listeners.remove(ctx.listener)  # type: ignore[attr-defined]


__all__ = ["start", "build", "Context"]
