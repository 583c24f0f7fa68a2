"""Faults, each end to end against democluster, a real Redis and real Celery workers; each ends
with the mirror equal to the cluster and no duplicate rows."""

from __future__ import annotations

import shutil
import ssl
import threading
import urllib.request
from pathlib import Path

import pytest
import redis

from tests.support.stack import Democluster, Process, free_port, wait_for
from tests.sync_support import (  # noqa: F401 - fixtures
    APP,
    assert_no_duplicate_rows,
    assert_pods_linked,
    clean_redis,
    cluster,
    democluster,
    mirror_equals_cluster,
    settle,
    start_worker,
)
from workloads.models import Cluster, Workload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

MIRROR_TIMEOUT = 90


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def synced(dc: Democluster, cluster: Cluster) -> None:
    wait_for(lambda: mirror_equals_cluster(dc, cluster), timeout=MIRROR_TIMEOUT, interval=0.5, what="mirror")
    assert_no_duplicate_rows(cluster)
    assert_pods_linked(cluster)


def compact(dc: Democluster) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(f"{dc.url}/democluster/compact", method="POST")
    assert urllib.request.urlopen(request, context=context, timeout=5).status == 200


def extra_deployment(name: str, replicas: int = 2) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: app, image: "nginx:1.25"}}]
"""


def test_it_survives_democluster_restarting_mid_watch(democluster: Democluster, cluster: Cluster, start_worker) -> None:
    start_worker()
    democluster.kubectl("apply", "-f", "-", input=APP)
    settle(democluster)
    synced(democluster, cluster)

    democluster.stop()  # saves its snapshot; watches break
    wait_for(lambda: Cluster.objects.get(pk=cluster.pk).status == "unreachable", timeout=30, what="unreachable")
    democluster.args = [a for a in democluster.args if a != "--fresh"]
    democluster.start()
    democluster.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=4")
    democluster.kubectl("rollout", "status", "-n", "shop", "deploy/web", "--timeout=60s", timeout=90)
    synced(democluster, cluster)
    assert Workload.objects.get(cluster=cluster, kind="Deployment", name="web").ready_replicas == 4
    wait_for(lambda: Cluster.objects.get(pk=cluster.pk).status == "connected", timeout=60, what="connected again")


def test_it_recovers_from_a_worker_killed_mid_batch(democluster: Democluster, cluster: Cluster, start_worker) -> None:
    worker = start_worker()
    democluster.kubectl("apply", "-f", "-", input=APP)
    settle(democluster)
    synced(democluster, cluster)

    democluster.kubectl("apply", "-f", "-", input=extra_deployment("burst", replicas=60))
    # Kill it while the burst of Pod events is being ingested.
    wait_for(lambda: Workload.objects.filter(cluster=cluster, name="burst").exists(), timeout=30, what="burst seen")
    worker.kill()
    democluster.kubectl("rollout", "status", "-n", "shop", "deploy/burst", "--timeout=90s", timeout=120)
    start_worker("worker2")  # the dead worker's leases lapse; beat starts the watchers here
    synced(democluster, cluster)


def test_it_survives_redis_restarting(democluster: Democluster, cluster: Cluster, start_worker, tmp_path: Path) -> None:
    port = free_port()
    args = [
        shutil.which("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    private_redis = Process("redis", args, log_dir=tmp_path).start()
    url = f"redis://127.0.0.1:{port}/0"
    wait_for(lambda: redis_answers(url), timeout=10, what="private redis")
    try:
        start_worker(REDIS_URL=url)
        democluster.kubectl("apply", "-f", "-", input=APP)
        settle(democluster)
        synced(democluster, cluster)

        private_redis.kill()
        democluster.kubectl("apply", "-f", "-", input=extra_deployment("during-outage"))
        private_redis.start()
        wait_for(lambda: redis_answers(url), timeout=10, what="redis back")
        democluster.kubectl("rollout", "status", "-n", "shop", "deploy/during-outage", "--timeout=60s", timeout=90)
        synced(democluster, cluster)
    finally:
        private_redis.kill()


def test_it_lists_again_after_a_410(democluster: Democluster, cluster: Cluster, start_worker) -> None:
    worker = start_worker()
    democluster.kubectl("apply", "-f", "-", input=APP)
    settle(democluster)
    synced(democluster, cluster)

    worker.kill()
    democluster.kubectl("apply", "-f", "-", input=extra_deployment("while-down"))
    democluster.kubectl("delete", "pod", "-n", "shop", "nginx", "--wait=true")
    compact(democluster)  # every stored resourceVersion is now too old
    democluster.kubectl("rollout", "status", "-n", "shop", "deploy/while-down", "--timeout=60s", timeout=90)
    worker2 = start_worker("worker2")
    synced(democluster, cluster)
    assert "expired, listing again" in worker2.log()


def test_it_catches_up_on_what_changed_while_the_worker_was_down(
    democluster: Democluster, cluster: Cluster, start_worker
) -> None:
    worker = start_worker()
    democluster.kubectl("apply", "-f", "-", input=APP + "---" + extra_deployment("doomed"))
    settle(democluster)
    synced(democluster, cluster)

    worker.kill()
    democluster.kubectl("apply", "-f", "-", input=extra_deployment("newcomer"))
    democluster.kubectl("delete", "deploy", "-n", "shop", "doomed", "--wait=true")
    democluster.kubectl("rollout", "status", "-n", "shop", "deploy/newcomer", "--timeout=60s", timeout=90)
    wait_for(lambda: not democluster.get_json("pods", "-n", "shop", "-l", "app=doomed")["items"], timeout=60)
    start_worker("worker2")
    synced(democluster, cluster)
    doomed = Workload.objects.get(cluster=cluster, kind="Deployment", name="doomed")
    assert doomed.deleted_at is not None
    assert Workload.objects.get(cluster=cluster, kind="Deployment", name="newcomer").deleted_at is None


def test_it_runs_one_watcher_per_kind_with_two_workers(
    democluster: Democluster, cluster: Cluster, start_worker
) -> None:
    client = redis.Redis.from_url(__import__("django.conf").conf.settings.REDIS_URL)
    most: dict[str, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for key in client.scan_iter("podium:active:*"):
                most[key.decode()] = max(most.get(key.decode(), 0), int(client.get(key) or 0))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        start_worker("worker-a")
        start_worker("worker-b")
        democluster.kubectl("apply", "-f", "-", input=APP)
        settle(democluster)
        democluster.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=6")
        democluster.kubectl("rollout", "status", "-n", "shop", "deploy/web", "--timeout=60s", timeout=90)
        synced(democluster, cluster)
    finally:
        stop.set()
        sampler.join()
    assert len(most) == 11, most  # every kind was watched...
    assert max(most.values()) == 1, most  # ...by exactly one watcher at a time
