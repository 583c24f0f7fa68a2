"""Initial sync of N Pods on the real Kubernetes control plane, beside democluster's scale mode.
Not part of the tests; run it with

    .venv/bin/python bench/realcluster_sync_bench.py [--pods 10000]

(Podium's side writes to SQLite under a fresh temporary PODIUM_VAR_DIR; `sync --once` publishes,
so set REDIS_URL to a Redis that answers). As bench/sync_bench.py, every figure is a ratio against
a baseline measured in the same run, since these machines are noisy:

- initial sync of N Pods (Podium's paged LIST + ingest into the mirror, ``ingest.replace_all`` as
  sync_bench times it, on an empty mirror) vs a bare paged LIST of /api/v1/pods (limit 500,
  continue tokens) through the official client's raw response + orjson.loads (goal <= 3x), on
  realcluster (kube-apiserver + etcd + controller manager + scheduler + kwok nodes) and on
  democluster, printed side by side;
- ``manage.py sync --once`` of that cluster (every kind, on a new Cluster row), once, in seconds
  and as a multiple of the same bare Pod LIST;
- how long the real control plane took to get N Pods Running (Deployments applied with kubectl,
  Pods created by the ReplicaSet controller, bound by the scheduler, run by kwok), and its
  resident memory at N Pods.

The real cluster's Pods are made first (the slow part); then democluster is started, measured and
stopped, then the real cluster is measured, so that the two ratios are taken minutes apart at most
and never while the other server works.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("PODIUM_DEV", "true")
os.environ.setdefault("PODIUM_VAR_DIR", tempfile.mkdtemp(prefix="podium-realcluster-sync-bench-"))

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402
from kubernetes import client as k8s_client  # noqa: E402

from realcluster.cluster import RealCluster  # noqa: E402
from tests.support.stack import Democluster  # noqa: E402
from workloads import kube  # noqa: E402
from workloads.models import Cluster, Pod  # noqa: E402
from workloads.sync import ingest  # noqa: E402

PODS_PER_NODE = 250  # kwok nodes' allocatable pods
PODS_PER_WORKLOAD = 50  # as sync_bench asks democluster for: pods // 50 Deployments
NAMESPACES = ("scale-a", "scale-b", "scale-c", "scale-d")
IMAGES = ("nginx:1.25.3", "ghcr.io/podium-demo/api:1.4.0", "redis:7.2.4", "busybox:1.36", "python:3.12-slim")


def timed(fn: Callable[[], Any], repeat: int = 3, setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def manifests(pods: int) -> dict[str, Any]:
    """Namespaces and pods // 50 Deployments sharing ``pods`` replicas, as democluster's scale mode."""
    items: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in NAMESPACES
    ]
    for i, replicas in enumerate(spread(pods, max(1, pods // PODS_PER_WORKLOAD))):
        name = f"app-{i:05d}"
        labels = {"app": name, "tier": "scale"}
        container = {
            "name": "app",
            "image": IMAGES[i % len(IMAGES)],
            "ports": [{"containerPort": 8080}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }
        items.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NAMESPACES[i % len(NAMESPACES)], "labels": labels},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
                },
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}


def count_pods(api: k8s_client.ApiClient, field_selector: str = "") -> int:
    core = k8s_client.CoreV1Api(api)
    total, token = 0, None
    while True:
        response = core.list_pod_for_all_namespaces(
            limit=500, _continue=token, field_selector=field_selector or None, _preload_content=False
        )
        body = orjson.loads(response.data)
        total += len(body["items"])
        token = body["metadata"].get("continue")
        if not token:
            return total


def created_pods(api: k8s_client.ApiClient) -> int:
    """How many Pods exist, from one page of one (remainingItemCount), cheap enough to poll."""
    response = k8s_client.CoreV1Api(api).list_pod_for_all_namespaces(limit=1, _preload_content=False)
    body = orjson.loads(response.data)
    return len(body["items"]) + (body["metadata"].get("remainingItemCount") or 0)


def deployments_ready(api: k8s_client.ApiClient) -> tuple[int, list[tuple[str, str, int]]]:
    deployments, _ = kube.list_objects(api, kube.kind_for("Deployment"))
    ready = [
        (d["metadata"]["namespace"], d["metadata"]["name"], (d.get("status") or {}).get("readyReplicas", 0))
        for d in deployments
        if d["metadata"]["namespace"] in NAMESPACES
    ]
    return sum(r for _, _, r in ready), ready


def wait_running(
    rc: RealCluster, api: k8s_client.ApiClient, wanted: int, timeout: float, began: float
) -> tuple[bool, int]:
    """Until the API server lists ``wanted`` Running Pods, or ``timeout``: a cheap count of the Pods
    that exist while they are being created, then paged counts of the Running ones. (The
    Deployments' readyReplicas lag minutes behind: the ReplicaSet controller spends its client's
    rate limit on creating Pods, not on writing status.)"""
    deadline = time.monotonic() + timeout
    said = time.monotonic()
    created = running = 0
    while time.monotonic() < deadline:
        dead = [c.name for c in rc.children if not c.alive()]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited while Pods were being created")
        created = created_pods(api)
        if created >= wanted:
            running = count_pods(api, "status.phase=Running")
            if running >= wanted:
                return True, running
        if time.monotonic() - said >= 30:
            what = f"{running:,} Running" if created >= wanted else "counting Running once all exist"
            print(f"  ... {created:,} Pods created ({what}) after {time.monotonic() - began:.0f} s", flush=True)
            said = time.monotonic()
        time.sleep(2.0)
    return False, count_pods(api, "status.phase=Running")


def make_pods(rc: RealCluster, api: k8s_client.ApiClient, pods: int, timeout: float) -> tuple[int, float]:
    """Apply the Deployments and wait until ``pods`` Pods run; when that does not fit in ``timeout``,
    scale every Deployment down to what is ready and settle there. Returns (Pods, seconds)."""
    began = time.monotonic()
    rc.kubectl("apply", "-f", "-", input=orjson.dumps(manifests(pods)).decode())
    done, running = wait_running(rc, api, pods, timeout, began)
    took = time.monotonic() - began
    if done:
        return running, took
    print(
        f"{pods:,} Pods are not all Running after {took:.0f} s ({running:,} are): infeasible within the time "
        f"limit on this machine; scaling the Deployments down to their ready Pods",
        flush=True,
    )
    _, ready = deployments_ready(api)
    for namespace, name, replicas in ready:
        rc.kubectl("scale", "deployment", name, "-n", namespace, f"--replicas={replicas}")
    target = sum(r for _, _, r in ready)
    settle = time.monotonic() + 120
    while time.monotonic() < settle and (count_pods(api) != target or count_pods(api, "status.phase=Running") < target):
        time.sleep(1.0)
    return count_pods(api), took


def measure(label: str, cluster: Cluster) -> dict[str, Any]:
    """Pods listed, bare LIST + orjson.loads, Podium's initial Pod sync, and a full `sync --once`."""
    api = kube.api_client_for(kube.config_for_cluster(cluster))
    core = k8s_client.CoreV1Api(api)
    pod_kind = kube.kind_for("Pod")
    try:
        pods = count_pods(api)

        def bare_list() -> None:
            token = None
            while True:
                response = core.list_pod_for_all_namespaces(limit=500, _continue=token, _preload_content=False)
                token = orjson.loads(response.data)["metadata"].get("continue")
                if not token:
                    return

        def empty_mirror() -> None:
            Pod.objects.filter(cluster=cluster).delete()

        def sync() -> None:
            ingest.replace_all(cluster.pk, "Pod", kube.list_pages(api, pod_kind))

        bare_list()  # connections and caches warm for both
        t_sync = timed(sync, setup=empty_mirror)
        t_bare = timed(bare_list)
        mirrored = Pod.objects.filter(cluster=cluster, deleted_at__isnull=True).count()
    finally:
        api.close()

    full = Cluster.objects.create(
        name=f"{cluster.name}-full",
        connection=cluster.connection,
        kubeconfig_path=cluster.kubeconfig_path,
        context=cluster.context,
    )
    out = io.StringIO()
    start = time.perf_counter()
    call_command("sync", "--once", "--cluster", full.name, stdout=out)
    t_full = time.perf_counter() - start
    summary = out.getvalue().strip().splitlines()[0].split(": ", 1)[-1]
    # Both rows go, so that the next cluster is measured on a mirror as empty as this one was.
    Cluster.objects.filter(pk__in=[cluster.pk, full.pk]).delete()
    return {
        "label": label,
        "pods": pods,
        "mirrored": mirrored,
        "bare": t_bare,
        "sync": t_sync,
        "full": t_full,
        "summary": summary,
    }


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=0, help=f"kwok nodes (default: Pods / {PODS_PER_NODE} + 10%%)")
    parser.add_argument("--create-timeout", type=float, default=720.0, help="seconds for the Pods to run")
    args = parser.parse_args()
    nodes = args.nodes or max(3, math.ceil(args.pods * 1.1 / PODS_PER_NODE))
    if nodes * PODS_PER_NODE < args.pods:
        parser.error(f"{nodes} nodes hold {nodes * PODS_PER_NODE} Pods at most")

    call_command("migrate", verbosity=0)
    Cluster.objects.all().delete()
    tmp = Path(tempfile.mkdtemp(prefix="podium-realcluster-sync-bench-"))
    results = []
    rc = RealCluster.start(tmp / "realcluster", nodes=nodes)
    try:
        print(f"real control plane ({rc.server_version()}) with {nodes} kwok nodes ready in {rc.started_in:.1f} s")
        real = Cluster.objects.create(
            name="realcluster",
            connection=Cluster.Connection.KUBECONFIG,
            kubeconfig_path=str(rc.kubeconfig),
            context="realcluster",
        )
        api = kube.api_client_for(kube.config_for_cluster(real))
        try:
            workloads = max(1, args.pods // PODS_PER_WORKLOAD)
            print(
                f"creating {args.pods:,} Pods: {workloads} Deployments in {len(NAMESPACES)} namespaces "
                f"(kubectl apply; ReplicaSet controller, scheduler, kwok)",
                flush=True,
            )
            pods, took = make_pods(rc, api, args.pods, args.create_timeout)
        finally:
            api.close()
        print(f"pod creation: {pods:,} Pods Running in {took:.0f} s ({pods / took:.0f} Pods/s)", flush=True)
        rss_idle = rc.rss_bytes()

        dc = Democluster(
            tmp,
            "--fresh",
            "--no-scenario",
            "--scale-workloads",
            str(max(1, pods // PODS_PER_WORKLOAD)),
            "--scale-pods",
            str(pods),
        )
        dc.start()
        try:
            results.append(
                measure("democluster", Cluster.objects.create(name="dc", kubeconfig_path=str(dc.kubeconfig)))
            )
        finally:
            dc.stop()
        results.append(measure("kubernetes", real))
        rss_after = rc.rss_bytes()
    finally:
        rc.stop()

    print()
    print("initial sync of Pods: Podium (paged LIST + ingest) vs bare paged LIST + orjson, median of 3 (goal <= 3x)")
    print(f"{'cluster':<12} {'Pods':>7} {'bare LIST':>10} {'Podium':>8} {'ratio':>7}   sync --once (all kinds)")
    for r in results:
        print(
            f"{r['label']:<12} {r['pods']:>7,} {r['bare']:>8.2f} s {r['sync']:>6.2f} s {r['sync'] / r['bare']:>6.2f}x"
            f"   {r['full']:.2f} s = {r['full'] / r['bare']:.1f}x bare ({r['summary']})"
        )
    for r in results:
        if r["mirrored"] != r["pods"]:
            print(f"note: {r['label']} listed {r['pods']:,} Pods but the mirror holds {r['mirrored']:,}")
    if pods < args.pods:
        print(f"note: {args.pods:,} Pods did not fit in {args.create_timeout:.0f} s; measured at {pods:,}")
    print(f"pod creation on the real control plane: {pods:,} Pods Running in {took:.0f} s ({pods / took:.0f} Pods/s)")
    for when, sizes in (("at", rss_idle), ("after the LISTs at", rss_after)):
        parts = ", ".join(f"{name} {mb(size)}" for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]))
        print(f"control plane memory {when} {pods:,} Pods: {mb(sum(sizes.values()))} ({parts})")


if __name__ == "__main__":
    main()
