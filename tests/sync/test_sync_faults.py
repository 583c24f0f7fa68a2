"""Faults, each end to end against each cluster (democluster and the real control plane), a real
Redis and real Celery workers; each ends with the mirror equal to the cluster and no duplicate rows."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import redis

from tests.support.clusters import TargetCluster
from tests.support.stack import Process, free_port, wait_for
from tests.support.sync import (
    APP,
    assert_no_duplicate_rows,
    assert_pods_linked,
    mirror_equals_cluster,
    settle,
)
from workloads.models import Cluster, Workload
from workloads.sync.watcher import SYNC_KINDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

MIRROR_TIMEOUT = 90


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def synced(dc: TargetCluster, cluster: Cluster) -> None:
    wait_for(lambda: mirror_equals_cluster(dc, cluster), timeout=MIRROR_TIMEOUT, interval=0.5, what="mirror")
    assert_no_duplicate_rows(cluster)
    assert_pods_linked(cluster)


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


def test_it_survives_the_api_server_restarting_mid_watch(target: TargetCluster, cluster: Cluster, start_worker) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=APP)
    settle(target)
    synced(target, cluster)

    target.stop()  # keeps its state (snapshot or etcd); watches break
    wait_for(lambda: Cluster.objects.get(pk=cluster.pk).status == "unreachable", timeout=30, what="unreachable")
    target.start()
    target.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=4")
    target.kubectl("rollout", "status", "-n", "shop", "deploy/web", "--timeout=60s", timeout=90)
    synced(target, cluster)
    assert Workload.objects.get(cluster=cluster, kind="Deployment", name="web").ready_replicas == 4
    wait_for(lambda: Cluster.objects.get(pk=cluster.pk).status == "connected", timeout=60, what="connected again")


def test_it_recovers_from_a_worker_killed_mid_batch(target: TargetCluster, cluster: Cluster, start_worker) -> None:
    worker = start_worker()
    target.kubectl("apply", "-f", "-", input=APP)
    settle(target)
    synced(target, cluster)

    target.kubectl("apply", "-f", "-", input=extra_deployment("burst", replicas=60))
    # Kill it while the burst of Pod events is being ingested.
    wait_for(lambda: Workload.objects.filter(cluster=cluster, name="burst").exists(), timeout=30, what="burst seen")
    worker.kill()
    target.kubectl("rollout", "status", "-n", "shop", "deploy/burst", "--timeout=90s", timeout=120)
    start_worker("worker2")  # the dead worker's leases lapse; beat starts the watchers here
    synced(target, cluster)


def test_it_survives_redis_restarting(target: TargetCluster, cluster: Cluster, start_worker, tmp_path: Path) -> None:
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
        target.kubectl("apply", "-f", "-", input=APP)
        settle(target)
        synced(target, cluster)

        private_redis.kill()
        target.kubectl("apply", "-f", "-", input=extra_deployment("during-outage"))
        private_redis.start()
        wait_for(lambda: redis_answers(url), timeout=10, what="redis back")
        target.kubectl("rollout", "status", "-n", "shop", "deploy/during-outage", "--timeout=60s", timeout=90)
        synced(target, cluster)
    finally:
        private_redis.kill()


@pytest.mark.no_watch_cache
def test_it_lists_again_after_a_410(target: TargetCluster, cluster: Cluster, start_worker) -> None:
    worker = start_worker()
    target.kubectl("apply", "-f", "-", input=APP)
    settle(target)
    synced(target, cluster)

    worker.kill()
    target.kubectl("apply", "-f", "-", input=extra_deployment("while-down"))
    target.kubectl("delete", "pod", "-n", "shop", "nginx", "--wait=true")
    target.compact()  # every stored resourceVersion is now too old
    target.kubectl("rollout", "status", "-n", "shop", "deploy/while-down", "--timeout=60s", timeout=90)
    worker2 = start_worker("worker2")
    synced(target, cluster)
    assert "expired, listing again" in worker2.log()


def test_it_catches_up_on_what_changed_while_the_worker_was_down(
    target: TargetCluster, cluster: Cluster, start_worker
) -> None:
    worker = start_worker()
    target.kubectl("apply", "-f", "-", input=APP + "---" + extra_deployment("doomed"))
    settle(target)
    synced(target, cluster)

    worker.kill()
    target.kubectl("apply", "-f", "-", input=extra_deployment("newcomer"))
    target.kubectl("delete", "deploy", "-n", "shop", "doomed", "--wait=true")
    target.kubectl("rollout", "status", "-n", "shop", "deploy/newcomer", "--timeout=60s", timeout=90)
    wait_for(lambda: not target.get_json("pods", "-n", "shop", "-l", "app=doomed")["items"], timeout=60)
    start_worker("worker2")
    synced(target, cluster)
    doomed = Workload.objects.get(cluster=cluster, kind="Deployment", name="doomed")
    assert doomed.deleted_at is not None
    assert Workload.objects.get(cluster=cluster, kind="Deployment", name="newcomer").deleted_at is None


def test_it_runs_one_watcher_per_kind_with_two_workers(target: TargetCluster, cluster: Cluster, start_worker) -> None:
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
        target.kubectl("apply", "-f", "-", input=APP)
        settle(target)
        target.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=6")
        target.kubectl("rollout", "status", "-n", "shop", "deploy/web", "--timeout=60s", timeout=90)
        synced(target, cluster)
    finally:
        stop.set()
        sampler.join()
    assert len(most) == len(SYNC_KINDS), most  # every kind was watched...
    assert max(most.values()) == 1, most  # ...by exactly one watcher at a time
