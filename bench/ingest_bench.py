"""Steady ingest on the real path: the Celery worker that ``make run`` starts, following democluster's churn.
Not part of the tests; run it with

    .venv/bin/python bench/ingest_bench.py [--pods 10000] [--rate 1000] [--seconds 20]

Its own Redis, its own temporary PODIUM_VAR_DIR with a fresh SQLite database (or DATABASE_URL's
PostgreSQL), democluster's scale mode with ``--churn RATE`` (random changes a second, mostly to Pods).
Once the worker has synced the cluster, for SECONDS:

- the worker's CPU time per Pod event, against a bare consumer in this process: a watch on Pods through
  the same official client and orjson that only parses each event (its thread's CPU time per event);
- the lag: how many Pod resourceVersions the mirror's stored one is behind the newest the bare
  consumer has seen, sampled every second (p50 and max), and the "behind" the pages show;
- the events per second the bare consumer saw (what democluster managed to send).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worker_support import cpu_seconds, finish, prepare, synced, thread_cpu_seconds  # noqa: E402 - before Django's settings

TMP = prepare("podium-ingest-bench-")

from django.core.management import call_command  # noqa: E402

from tests.support.stack import CeleryWorker, Democluster, wait_for  # noqa: E402
from workloads import kube  # noqa: E402
from workloads.models import Cluster, SyncState  # noqa: E402
from workloads.sync import rows  # noqa: E402
from workloads.tasks import ensure_watchers  # noqa: E402


class BareConsumer(threading.Thread):
    """Follows Pods and only parses: the cost a watcher cannot avoid."""

    def __init__(self, api: object, resource_version: str) -> None:
        super().__init__(daemon=True)
        self.api, self.resource_version = api, resource_version
        self.events = 0
        self.newest = int(resource_version)
        self.cpu = 0.0
        self.cpu_start: float | None = None
        self.counting = False
        self.stopped = False

    def run(self) -> None:
        while not self.stopped:
            try:
                for type_, obj in kube.watch_objects(
                    self.api, kube.kind_for("Pod"), resource_version=str(self.newest), timeout_seconds=60
                ):
                    if type_ == "BOOKMARK":
                        continue
                    self.newest = max(self.newest, rows.resource_version(obj))
                    if self.counting:
                        if self.cpu_start is None:
                            self.cpu_start = time.thread_time()
                        self.events += 1
                        self.cpu = time.thread_time()
            except kube.Unreachable:
                if not self.stopped:
                    raise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--py-spy", metavar="OUT", help="also sample the worker with py-spy (not in requirements) into OUT, raw format"
    )
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    scale = ["--scale-workloads", str(max(1, args.pods // 50)), "--scale-pods", str(args.pods)]
    dc = Democluster(TMP, "--fresh", "--no-scenario", *scale, "--churn", str(args.rate))
    dc.start()
    worker = CeleryWorker(TMP, PODIUM_ENSURE_WATCHERS_SECONDS="1")
    try:
        cluster = Cluster.objects.create(name="ingest", kubeconfig_path=str(dc.kubeconfig))
        api = kube.api_client_for(kube.config_for_cluster(cluster))
        _, list_version = kube.list_objects(api, kube.kind_for("Namespace"))
        bare = BareConsumer(api, list_version)
        bare.start()
        worker.start()
        ensure_watchers.delay()
        wait_for(lambda: synced(cluster, args.pods), timeout=600, interval=0.2, what="the initial sync")
        time.sleep(3)  # not a wait for a condition: the first seconds after the list are not steady state
        bare.counting = True
        events_start = bare.events
        spy = None
        if args.py_spy:
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking", "--threads", "--rate", "50"]
                + ["--format"]
                + ["raw", "-o", args.py_spy, "-d", str(int(args.seconds)), "-p", str(worker.proc.pid)],
                stdout=subprocess.DEVNULL,
            )
        threads_start = thread_cpu_seconds(worker.proc.pid)
        cpu_start = cpu_seconds(worker.proc.pid)
        start = time.perf_counter()
        lags, shown = [], []
        while time.perf_counter() - start < args.seconds:
            time.sleep(1)
            state = SyncState.objects.get(cluster=cluster, kind="Pod")
            lags.append(max(0, bare.newest - int(state.resource_version or 0)))
            shown.append(Cluster.objects.get(pk=cluster.pk).mirror_lag_seconds)
        wall = time.perf_counter() - start
        cpu = cpu_seconds(worker.proc.pid) - cpu_start
        events = bare.events - events_start
        bare.stopped = True
        threads = thread_cpu_seconds(worker.proc.pid)
        cpu_bare = bare.cpu - (bare.cpu_start or bare.cpu)
        per_event, per_event_bare = cpu / events * 1e6, cpu_bare / events * 1e6
        print(f"{args.pods:,} Pods, churn {args.rate:,.0f}/s; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
        print(f"bare consumer saw {events / wall:,.0f} Pod events/s")
        print(
            f"worker CPU per event {per_event:,.0f} us vs bare {per_event_bare:,.0f} us -> "
            f"{per_event / per_event_bare:.1f}x (goal <= 10x); worker used {cpu / wall:.0%} of a core"
        )
        print(
            f"lag in resourceVersions: p50 {statistics.median(lags):,.0f}, max {max(lags):,}, last {lags[-1]:,}; "
            f"shown as behind (s): max {max(s or 0 for s in shown):.1f}"
        )
        if args.py_spy:  # by the thread ids py-spy names its threads by
            used = {tid: cpu - threads_start.get(tid, 0.0) for tid, cpu in threads.items()}
            busiest = sorted(used.items(), key=lambda item: -item[1])[:8]
            total = sum(used.values()) or 1
            print("worker CPU by thread:", ", ".join(f"{tid} {cpu / total:.0%}" for tid, cpu in busiest))
        if spy is not None:  # after the figures: py-spy falls behind on a loaded machine
            try:
                spy.wait(timeout=120)
            except subprocess.TimeoutExpired:
                spy.kill()
                print("py-spy did not finish its samples; its output may be missing")
        api.close()
    finally:
        worker.stop()
        dc.stop()
        finish(TMP)


if __name__ == "__main__":
    main()
