"""Sync at scale, against democluster's scale mode. Not part of the tests; run it with

    .venv/bin/python bench/sync_bench.py [--pods 10000]

(add DATABASE_URL=postgres://postgres@127.0.0.1:5432/podium_bench to measure on PostgreSQL).
Every figure is a ratio against a baseline measured in the same run, since these machines are noisy:

- initial sync of N Pods (paged LIST + ingest into the mirror) vs a bare paged LIST + orjson.loads
  of the same Pods (goal <= 3x);
- steady ingest of watch events (parse + batched upsert + publish to the channel layer) on one
  core, in events/s, vs a bare consumer that only parses the same event lines (goal >= 1,000/s);
- the process's resident memory growth while syncing, per 10k Pods (goal <= 50 MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("PODIUM_DEV", "true")
os.environ.setdefault("PODIUM_VAR_DIR", tempfile.mkdtemp(prefix="podium-sync-bench-"))

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tests.support.stack import Democluster  # noqa: E402
from workloads import kube, live  # noqa: E402
from workloads.models import Cluster, Pod  # noqa: E402
from workloads.sync import ingest  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    Cluster.objects.all().delete()
    tmp = Path(tempfile.mkdtemp(prefix="podium-sync-bench-dc-"))
    dc = Democluster(
        tmp,
        "--fresh",
        "--no-scenario",
        "--scale-workloads",
        str(max(1, args.pods // 50)),
        "--scale-pods",
        str(args.pods),
    )
    dc.start()
    try:
        cluster = Cluster.objects.create(name="bench", kubeconfig_path=str(dc.kubeconfig))
        api = kube.api_client_for(kube.config_for_cluster(cluster))
        pod_kind = kube.kind_for("Pod")
        pods = [p for page, _ in kube.list_pages(api, pod_kind) for p in page]
        print(f"democluster serves {len(pods)} Pods")

        def bare_list() -> None:
            for _page, _rv in kube.list_pages(api, pod_kind):
                pass

        def sync() -> None:
            Pod.objects.filter(cluster=cluster).delete()
            ingest.replace_all(cluster.pk, "Pod", kube.list_pages(api, pod_kind))

        before = rss_mb()
        t_sync = timed(sync)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t_bare = timed(bare_list)
        print(f"initial sync: {t_sync:.2f} s vs bare paged LIST + orjson {t_bare:.2f} s -> {t_sync / t_bare:.2f}x")
        print(f"memory: {before:.0f} MB before, peak {peak:.0f} MB -> {(peak - before) * 10_000 / len(pods):.0f} MB")

        # A recorded watch stream: MODIFIED events with rising resourceVersions, as the server sends them.
        rv = int(pods[-1]["metadata"]["resourceVersion"]) + 1
        lines = []
        for i in range(args.events):
            pod = pods[i % len(pods)]
            pod = {**pod, "metadata": {**pod["metadata"], "resourceVersion": str(rv + i)}}
            lines.append(orjson.dumps({"type": "MODIFIED", "object": pod}))

        def bare_consume() -> None:
            for line in lines:
                orjson.loads(line)

        def podium_consume() -> None:
            batch = []
            for line in lines:
                event = orjson.loads(line)
                batch.append((event["type"], event["object"]))
                if len(batch) == 500:
                    live.publish(cluster.pk, ingest.apply_events(cluster.pk, "Pod", batch))
                    batch = []
            if batch:
                live.publish(cluster.pk, ingest.apply_events(cluster.pk, "Pod", batch))

        t_bare_consume = timed(bare_consume, repeat=1)
        t_ingest = timed(podium_consume, repeat=1)
        rate, bare_rate = args.events / t_ingest, args.events / t_bare_consume
        print(
            f"steady ingest: {rate:,.0f} events/s vs bare parse {bare_rate:,.0f} events/s "
            f"-> {bare_rate / rate:.1f}x slower (goal >= 1,000/s)"
        )
        api.close()
    finally:
        dc.stop()


if __name__ == "__main__":
    main()
