"""How many Pod watch events democluster's churn delivers, against the rate asked for. Not part of the tests; run it
with

    .venv/bin/python bench/churn_bench.py [--pods 10000] [--rates 1000 2000 3000] [--watchers 2] [--seconds 15]

For each rate: democluster's scale mode in its own temporary directory (``--scale-workloads PODS/50 --scale-pods
PODS --churn RATE``, as ``ingest_bench.py`` starts it), WATCHERS watches on Pods in threads of this process through
``workloads.kube.watch_objects`` (the client the worker uses) that only count what they receive, and for SECONDS:

- the Pod events per second each watcher received, against the rate asked for (~99% of the churn's changes are
  Pod changes, ~1% scales: a scale's Pod comes or goes a little later);
- democluster's CPU (share of a core, and microseconds per Pod change it delivered), and this process's;
- the load average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worker_support import cpu_seconds  # noqa: E402 - puts the checkout on the path
from tests.support.stack import Democluster  # noqa: E402
from workloads import kube  # noqa: E402


class Counter(threading.Thread):
    """Follows Pods from a resourceVersion and counts the events it receives (bookmarks apart)."""

    def __init__(self, api: object, resource_version: str) -> None:
        super().__init__(daemon=True)
        self.api, self.resource_version = api, resource_version
        self.events = 0
        self.stopped = False

    def run(self) -> None:
        while not self.stopped:
            try:
                for type_, obj in kube.watch_objects(
                    self.api, kube.kind_for("Pod"), resource_version=self.resource_version, timeout_seconds=60
                ):
                    self.resource_version = obj["metadata"]["resourceVersion"]
                    if type_ != "BOOKMARK":
                        self.events += 1
            except kube.Unreachable:
                if not self.stopped:
                    raise


def measure(pods: int, rate: float, watchers: int, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="podium-churn-bench-"))
    scale = ["--scale-workloads", str(max(1, pods // 50)), "--scale-pods", str(pods)]
    dc = Democluster(tmp, "--fresh", "--no-scenario", *scale, "--churn", str(rate))
    dc.start(timeout=300)
    try:
        api = kube.api_client_for(kube.ClusterConfig("kubeconfig", str(dc.kubeconfig)))
        _, list_version = kube.list_objects(api, kube.kind_for("Namespace"))
        counters = [Counter(api, list_version) for _ in range(watchers)]
        for counter in counters:
            counter.start()
        time.sleep(3)  # not a wait for a condition: the watches' first seconds are not steady state
        starts = [c.events for c in counters]
        dc_cpu, own_cpu = cpu_seconds(dc.proc.pid), time.process_time()
        start = time.perf_counter()
        time.sleep(seconds)
        wall = time.perf_counter() - start
        received = [c.events - s for c, s in zip(counters, starts, strict=True)]
        dc_used, own_used = cpu_seconds(dc.proc.pid) - dc_cpu, time.process_time() - own_cpu
        for counter in counters:
            counter.stopped = True
        per_watcher = ", ".join(f"{n / wall:,.0f}" for n in received)
        changes = max(received) or 1
        print(
            f"churn {rate:,.0f}/s, {pods:,} Pods: Pod events/s per watcher {per_watcher} "
            f"({min(received) / wall / (rate * 0.99):.0%} of the Pod changes asked for); "
            f"democluster {dc_used / wall:.0%} of a core, {dc_used / changes * 1e6:,.0f} us per Pod change; "
            f"watchers {own_used / wall:.0%}; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        api.close()
    finally:
        dc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--rates", type=float, nargs="+", default=[1000, 2000, 3000])
    parser.add_argument("--watchers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; {args.watchers} Pod watchers", flush=True)
    for rate in args.rates:
        measure(args.pods, rate, args.watchers, args.seconds)


if __name__ == "__main__":
    main()
