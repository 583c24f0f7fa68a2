"""Initial sync on the real path: the Celery worker that ``make run`` starts, every watched kind.
Not part of the tests; run it with

    .venv/bin/python bench/sync_bench.py [--pods 10000] [--runs 2]

It uses its own Redis (a private redis-server on a free port), its own temporary PODIUM_VAR_DIR with a
fresh SQLite database (or DATABASE_URL's PostgreSQL), and democluster's scale mode (N Pods in
Deployments of 50, with their ReplicaSets). Each run adds the cluster to a running worker (threads
pool, beat inside, the same queues and tasks as ``make run``) and waits until every kind is listed
and every Pod is in the mirror. Beside it, in the same run, the baseline: a bare paged LIST of
/api/v1/pods through the official client + orjson (the median of three). Printed:

- wall time of the initial sync, as a multiple of the bare LIST (goal <= 3x);
- the worker's CPU time over the same interval, as a multiple of the bare LIST's wall time;
- the load average, since these machines are noisy;
- a page's latency while the sync runs: the cluster's workload list, asked for again and again through Django's
  test Client by a viewer, its median and slowest during the sync against the median of the same request idle
  (after it);
- the cost of the kinds around the workloads (Services, EndpointSlices, ConfigMaps, Secrets, PVCs, HPAs, PDBs;
  democluster's ``--scale-around`` gives each Deployment one of each): ``sync --once`` of those kinds alone, against
  ``sync --once`` of the workload kinds, each in this process on a fresh Cluster row (goal < 20%).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worker_support import cpu_seconds, finish, prepare, synced  # noqa: E402 - before Django's settings

TMP = prepare("podium-sync-bench-")

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from tests.support.stack import CeleryWorker, Democluster, wait_for  # noqa: E402
from workloads import kube  # noqa: E402
from workloads.models import Cluster, RelatedObject  # noqa: E402
from workloads.sync.watcher import SYNC_KINDS, sync_once  # noqa: E402
from workloads.tasks import ensure_watchers  # noqa: E402


def bare_list(api: object) -> float:
    start = time.perf_counter()
    count = sum(len(page) for page, _ in kube.list_pages(api, kube.kind_for("Pod")))
    elapsed = time.perf_counter() - start
    assert count, "democluster served no Pods"
    return elapsed


class PageTimer(threading.Thread):
    """Asks for the cluster's workload list, one request after another, until stopped: each one's latency."""

    def __init__(self, client: Client, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.client, self.url = client, f"/c/{cluster.name}/workloads/"
        self.latencies: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                self.latencies.append(page_latency(self.client, self.url))
        finally:
            connection.close()


def page_latency(client: Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return elapsed


def viewer_client() -> Client:
    viewer = User.objects.create_user("vera-viewer")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(viewer)
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    scale = ["--scale-workloads", str(max(1, args.pods // 50)), "--scale-pods", str(args.pods)]
    dc = Democluster(TMP, "--fresh", "--no-scenario", "--scale-around", *scale)
    worker = CeleryWorker(TMP, PODIUM_ENSURE_WATCHERS_SECONDS="1")
    try:
        dc.start(timeout=max(60, args.pods / 500))
        probe = Cluster.objects.create(name="probe", kubeconfig_path=str(dc.kubeconfig), enabled=False)
        api = kube.api_client_for(kube.config_for_cluster(probe))
        pods = sum(len(page) for page, _ in kube.list_pages(api, kube.kind_for("Pod")))
        print(f"democluster serves {pods:,} Pods; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
        worker.start()
        client = viewer_client()
        for run in range(1, args.runs + 1):
            bare = statistics.median(bare_list(api) for _ in range(3))
            cpu_before = cpu_seconds(worker.proc.pid)
            start = time.perf_counter()
            cluster = Cluster.objects.create(name=f"run-{run}", kubeconfig_path=str(dc.kubeconfig))
            pages = PageTimer(client, cluster)
            pages.start()
            ensure_watchers.delay()  # as beat would within PODIUM_ENSURE_WATCHERS_SECONDS
            wait_for(lambda c=cluster: synced(c, pods), timeout=600, interval=0.05, what="the initial sync")
            wall = time.perf_counter() - start
            cpu = cpu_seconds(worker.proc.pid) - cpu_before
            pages.stopped.set()
            pages.join()
            idle = statistics.median(page_latency(client, pages.url) for _ in range(5))
            Cluster.objects.filter(pk=cluster.pk).update(enabled=False)
            print(
                f"run {run}: initial sync {wall:.2f} s vs bare LIST {bare:.2f} s -> {wall / bare:.2f}x (goal <= 3x); "
                f"worker CPU {cpu:.2f} s -> {cpu / bare:.2f}x; load {os.getloadavg()[0]:.2f}"
            )
            during = pages.latencies
            print(
                f"  workload list during the sync: {len(during)} requests, median {statistics.median(during):.3f} s,"
                f" slowest {max(during):.3f} s; idle median {idle:.3f} s"
                f" -> {statistics.median(during) / idle:.1f}x, slowest {max(during) / idle:.1f}x"
            )
        api.close()
        around_ratio(dc)
    finally:
        worker.stop()
        dc.stop()
        finish(TMP)


def around_ratio(dc: Democluster) -> None:
    """The extra kinds' share: the same in-process ``sync_once`` path, the workload kinds then the kinds around them."""
    workload_kinds = [k for k in SYNC_KINDS if k not in RelatedObject.Kind.values]
    around_kinds = [k for k in SYNC_KINDS if k in RelatedObject.Kind.values]
    timings = {}
    for label, kinds in (("workload kinds", workload_kinds), ("around kinds", around_kinds)):
        cluster = Cluster.objects.create(name=f"once-{len(timings)}", kubeconfig_path=str(dc.kubeconfig), enabled=False)
        start = time.perf_counter()
        counts = sync_once(cluster, kinds)
        timings[label] = time.perf_counter() - start
        print(f"sync --once of the {label}: {timings[label]:.2f} s for {sum(counts.values()):,} objects {counts}")
    ratio = timings["around kinds"] / timings["workload kinds"]
    print(f"the kinds around the workloads cost {ratio:.0%} of the initial sync (goal < 20%)")


if __name__ == "__main__":
    main()
