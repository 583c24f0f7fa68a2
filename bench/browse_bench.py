"""Browse pages at scale: 200 workloads and 3,000 Pods in one namespace.

Measures time to first byte (the full Django response, through the test Client) and the DOM element
count of the workloads list and of one workload page. Not part of the tests; run it with

    .venv/bin/python bench/browse_bench.py

It builds its own SQLite database (or DATABASE_URL's PostgreSQL) in a temporary PODIUM_VAR_DIR of its own, with a
Redis of its own, both removed when it ends.
Goal: <= 1,500 DOM nodes per page.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.worker_support import dom_nodes, finish, prepare  # noqa: E402 - before Django's settings

TMP = prepare("podium-browse-bench-")

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from tests.support import factories as f  # noqa: E402
from workloads.models import Cluster, Pod  # noqa: E402

WORKLOADS, PODS, NAMESPACE = 200, 3000, "scale"


def build() -> None:
    call_command("migrate", verbosity=0)
    Cluster.objects.all().delete()
    cluster = f.make_cluster("bench")
    f.make_namespace(cluster, NAMESPACE)
    per = PODS // WORKLOADS
    pods = []
    for i in range(WORKLOADS):
        name = f"svc-{i:03d}"
        tpl = f.pod_template({"app": name}, [f.container("app", f"registry.example/{name}:1.{i % 7}")])
        deploy = f.make_deployment(cluster, NAMESPACE, name, tpl, replicas=per)
        rs = f.make_replicaset(cluster, deploy, tpl, revision=1, replicas=per)
        labelled = {**tpl, "metadata": {"labels": {"app": name, "pod-template-hash": rs.template_hash}}}
        for j in range(per):
            raw = f.pod_raw(f"{rs.name}-{j:05d}", NAMESPACE, labelled, owner=("ReplicaSet", rs.name, rs.uid))
            pods.append(f.pod_row(cluster, raw, workload_uid=deploy.uid, save=False))
    Pod.objects.bulk_create(pods, batch_size=500)


def measure(client: Client, path: str, runs: int = 7) -> tuple[float, float, int, int]:
    client.get(path)  # warm caches and template loading
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    html = response.content.decode()
    return statistics.median(times), max(times), dom_nodes(html), len(html)


def main() -> None:
    try:
        run()
    finally:
        finish(TMP)


def run() -> None:
    start = time.perf_counter()
    build()
    print(f"built {WORKLOADS} workloads / {PODS} Pods in {time.perf_counter() - start:.1f}s")
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    pages = {
        "workloads list (namespace page)": f"/c/bench/ns/{NAMESPACE}/",
        "workloads list (cluster, page 4)": "/c/bench/workloads/?page=4",
        "Pods list (kind=Pod, page 30)": f"/c/bench/ns/{NAMESPACE}/?kind=Pod&page=30",
        "workload page (15 Pods)": f"/c/bench/ns/{NAMESPACE}/deployment/svc-100/",
    }
    print()
    print(f"{'page':36} {'TTFB median':>12} {'max':>8} {'DOM nodes':>10} {'bytes':>8}")
    for label, path in pages.items():
        median, worst, nodes, size = measure(client, path)
        flag = "" if nodes <= 1500 else "  over the 1,500 goal"
        print(f"{label:36} {median:10.1f}ms {worst:6.1f}ms {nodes:10d} {size:8d}{flag}")


if __name__ == "__main__":
    main()
