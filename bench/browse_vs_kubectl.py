"""Browse pages against a synced democluster, next to `kubectl get pods` on the same cluster.

    .venv/bin/python bench/browse_vs_kubectl.py [--pods 150000]

democluster runs in scale mode with namespace `bench` (200 workloads, 3,000 Pods) plus --pods more
Pods across other namespaces; Podium mirrors it with `sync --once` and serves pages from uvicorn.
Reported, in the same run: median time to the last byte of each page over HTTP (a logged-in
session) and its DOM element count, and the median wall time of `kubectl get pods -n bench` (the
same Pods, as a table) and `kubectl get deploy -n bench`. Goal: pages no slower than kubectl, and
<= 1,500 DOM nodes. Its own Redis and temporary PODIUM_VAR_DIR (a fresh SQLite database, or DATABASE_URL's
PostgreSQL), removed when it ends.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worker_support import dom_nodes, finish, prepare  # noqa: E402 - before Django's settings

TMP = prepare("podium-browse-vs-kubectl-")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from tests.support.stack import AsgiServer, Democluster  # noqa: E402
from workloads.models import Cluster, Pod  # noqa: E402
from workloads.sync.watcher import sync_once  # noqa: E402


def median_seconds(fn, runs: int = 7) -> tuple[float, object]:
    fn()
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=20_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    Cluster.objects.all().delete()
    dc = Democluster(
        TMP,
        "--fresh",
        "--no-scenario",
        "--scale-bench",
        "--scale-workloads",
        str(max(1, args.pods // 30)),
        "--scale-pods",
        str(args.pods),
    ).start()
    web = None
    try:
        cluster = Cluster.objects.create(name="bench", kubeconfig_path=str(dc.kubeconfig))
        start = time.perf_counter()
        sync_once(cluster)
        pods = Pod.objects.filter(cluster=cluster).count()
        print(f"synced {pods} Pods in {time.perf_counter() - start:.1f} s")
        user, _ = User.objects.get_or_create(username="bench-viewer")
        user.groups.add(Group.objects.get(name="viewer"))
        client = Client()
        client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        web = AsgiServer(TMP).start()  # shares this process's database

        def fetch(path: str):
            def get() -> str:
                request = urllib.request.Request(web.url + path, headers={"Cookie": cookie})
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.read().decode()

            return get

        def kubectl(*words: str):
            return lambda: subprocess.run(
                ["kubectl", f"--kubeconfig={dc.kubeconfig}", f"--cache-dir={TMP / 'kcache'}", *words],
                capture_output=True,
                check=True,
            )

        rows = []
        for label, path in {
            "namespace page (bench: 200 workloads)": "/c/bench/ns/bench/",
            "Pods of namespace bench (page 1)": "/c/bench/ns/bench/?kind=Pod",
            "workload page (bench/svc-100)": "/c/bench/ns/bench/deployment/svc-100/",
            f"cluster workloads list ({pods} Pods)": "/c/bench/workloads/?page=3",
            "cluster Pods list, page 100": "/c/bench/workloads/?kind=Pod&page=100",
        }.items():
            seconds, html = median_seconds(fetch(path))
            rows.append((label, seconds, dom_nodes(html)))
        baseline = {}
        for label, words in {
            "kubectl get pods -n bench": ("get", "pods", "-n", "bench"),
            "kubectl get deploy -n bench": ("get", "deploy", "-n", "bench"),
        }.items():
            baseline[label], _ = median_seconds(kubectl(*words))
        print(f"\n{'what':44} {'median':>9} {'DOM nodes':>10}")
        for label, seconds in baseline.items():
            print(f"{label:44} {seconds * 1000:7.0f}ms")
        reference = baseline["kubectl get pods -n bench"]
        for label, seconds, nodes in rows:
            print(f"{label:44} {seconds * 1000:7.0f}ms {nodes:10d}   {seconds / reference:.2f}x kubectl get pods")
    finally:
        if web:
            web.stop()
        dc.stop()
        finish(TMP)


if __name__ == "__main__":
    main()
