"""Celery tasks: thin APIs over workloads.sync. They take ids, never objects."""

from __future__ import annotations

import os
import socket
import threading

from celery import shared_task
from django.conf import settings

from workloads.models import Cluster
from workloads.sync.lease import lease_key, redis_client
from workloads.sync.prune import prune_deleted as prune_deleted_rows
from workloads.sync.watcher import SYNC_KINDS, Watcher

ENQUEUE_GUARD_SECONDS = 5


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@shared_task(name="workloads.tasks.watch_kind", ignore_result=True, acks_late=False)
def watch_kind(cluster_id: int, kind: str) -> str:
    """Hold the (cluster, kind) lease and watch for a while, then hand over to a fresh task."""
    result = Watcher(cluster_id, kind, holder=_holder(), run_seconds=settings.PODIUM_WATCH_RUN_SECONDS).run()
    if result == "done" and Cluster.objects.filter(pk=cluster_id, enabled=True).exists():
        watch_kind.delay(cluster_id, kind)
    return result


@shared_task(name="workloads.tasks.ensure_watchers", ignore_result=True)
def ensure_watchers() -> int:
    """Start a watcher for every (cluster, kind) whose lease has lapsed (none running, or its worker died)."""
    client = redis_client()
    started = 0
    for cluster_id in Cluster.objects.filter(enabled=True).values_list("pk", flat=True):
        for kind in SYNC_KINDS:
            key = lease_key(cluster_id, kind)
            if client.exists(key):
                continue
            # One enqueue per lapse, however many beats or workers ask.
            if client.set(f"{key}:enqueued", "1", nx=True, ex=ENQUEUE_GUARD_SECONDS):
                watch_kind.delay(cluster_id, kind)
                started += 1
    return started


@shared_task(name="workloads.tasks.prune_deleted", ignore_result=True)
def prune_deleted() -> dict[str, int]:
    """Forget objects deleted longer ago than PODIUM_DELETED_RETENTION_HOURS."""
    return prune_deleted_rows()
