"""A mirror that falls behind says so on every page of its cluster, and stops saying it once it caught up.

The fault: the database is write-locked for a while (as a long migration or a stuck writer would) while the
cluster keeps changing, so the worker's watchers hold events they cannot write yet."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tests.support.clusters import TargetCluster
from tests.support.stack import wait_for
from workloads.models import Cluster, SyncState, Workload
from workloads.sync.watcher import SYNC_KINDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# Seconds: past the 2 s after which this test's worker says the mirror is behind, and short of the 10 s
# a watcher's lease lasts without renewal (a stuck watcher loses it, and the one taking over starts afresh).
SHOWN_AFTER, LOCKED_FOR = 2, 4.5

DEPLOYMENT = """
apiVersion: v1
kind: Namespace
metadata: {name: lag}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: lag}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
"""

BEHIND = re.compile(r"The mirror of cluster dc is (\d+) s behind")


def write_locked(release: threading.Event, locked: threading.Event) -> None:
    """Hold the database's write lock (reads go on) until ``release`` is set."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        db = sqlite3.connect(settings["NAME"], isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
    else:
        db = psycopg.connect(
            host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"]
        )
        db.execute("LOCK TABLE workloads_workload, workloads_pod IN EXCLUSIVE MODE")
    locked.set()
    release.wait(60)
    db.rollback()
    db.close()


def test_pages_say_the_mirror_is_behind_while_it_is(
    target: TargetCluster, cluster: Cluster, start_worker, viewer_client: Client
) -> None:
    start_worker(PODIUM_LAG_SHOWN_SECONDS=str(SHOWN_AFTER))
    target.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    wait_for(
        lambda: Workload.objects.filter(cluster=cluster, kind="Deployment", name="web").exists(),
        timeout=60,
        what="the Deployment in the mirror",
    )
    wait_for(
        lambda: Cluster.objects.get(pk=cluster.pk).status == Cluster.Status.CONNECTED,
        timeout=60,
        what="the first sync to finish",
    )
    # Every watcher past its list: "connected" comes while some may still be listing, and one that ends its list
    # during the lock starts its watch after it, reading the changes at once (no lag to show).
    wait_for(
        lambda: SyncState.objects.filter(cluster=cluster, status=SyncState.Status.WATCHING).count() == len(SYNC_KINDS),
        timeout=60,
        what="every kind watched",
    )
    page = "/c/dc/ns/lag/"
    assert viewer_client.get(page).status_code == 200
    assert not BEHIND.search(viewer_client.get(page).content.decode())

    release, locked = threading.Event(), threading.Event()
    holder = threading.Thread(target=write_locked, args=(release, locked), daemon=True)
    holder.start()
    try:
        assert locked.wait(10)
        for i in range(3):
            target.kubectl("annotate", "deploy/web", "-n", "lag", f"podium.test/n={i}", "--overwrite")
        time.sleep(LOCKED_FOR)  # how long the fault lasts (what follows waits for conditions)
    finally:
        release.set()
        holder.join(10)

    # Written at last, seconds after they arrived: the page says so, with the figure...
    said = wait_for(lambda: BEHIND.search(shown(viewer_client, page)), timeout=30, what=f"'behind' on {page}")
    assert int(said[1]) >= SHOWN_AFTER
    wait_for(
        lambda: (
            Workload.objects.get(cluster=cluster, kind="Deployment", name="web")
            .raw["metadata"]
            .get("annotations", {})
            .get("podium.test/n")
            == "2"
        ),
        timeout=30,
        what="the last change in the mirror",
    )
    # ...and once the watchers caught up, it stops saying it.
    try:
        wait_for(lambda: not BEHIND.search(shown(viewer_client, page)), timeout=60, what="caught up")
    except AssertionError:
        states = list(SyncState.objects.filter(cluster=cluster).values_list("kind", "status", "lag_seconds"))
        raise AssertionError(f"still behind: {states}") from None
    assert Cluster.objects.get(pk=cluster.pk).mirror_lag_seconds == 0


def shown(client: Client, page: str) -> str:
    response = client.get(page)
    assert response.status_code == 200
    return response.content.decode()
