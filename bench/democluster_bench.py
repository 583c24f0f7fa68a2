"""How fast democluster lists and watches: it must never be the benchmark's bottleneck.

Runs the API server in-process (its own thread and event loop, plain HTTP, no auth) and reports:
- listing 10k and 100k pods over HTTP, against ``json.dumps`` of the same objects (ratio < 1 is faster);
- watch events per second delivered to 1 and to 10 concurrent watchers.

    .venv/bin/python bench/democluster_bench.py [--sizes 10000 100000] [--events 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from democluster import admission  # noqa: E402
from democluster.resources import CONFIGMAPS, PODS  # noqa: E402
from democluster.server import ApiServer, start_server  # noqa: E402
from democluster.store import Store, now_rfc3339  # noqa: E402


def make_pod(i: int) -> dict[str, Any]:
    """A scheduled, running pod shaped like the kubelet leaves one."""
    name = f"bench-{i:06d}"
    started = now_rfc3339()
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": str(uuid.uuid4()),
            "resourceVersion": "1",
            "creationTimestamp": started,
            "labels": {"app": f"bench-{i % 100}", "pod-template-hash": "5d9c9d8f5"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"bench-{i % 100}-5d9c9d8f5",
                    "uid": "00000000-0000-0000-0000-000000000000",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.25",
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "nodeName": f"node-{i % 3 + 1}",
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "securityContext": {},
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.244.{i // 250 % 250}.{i % 250}",
            "hostIP": "172.18.0.2",
            "startTime": started,
            "qosClass": "Burstable",
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "nginx:1.25",
                    "imageID": "docker.io/library/nginx@sha256:" + "0" * 64,
                    "containerID": "containerd://" + uuid.uuid4().hex,
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "lastState": {},
                    "state": {"running": {"startedAt": started}},
                }
            ],
        },
    }


class Harness:
    """democluster's API on a background thread; ``call`` runs a function on its loop."""

    def __init__(self) -> None:
        self.store = Store(history_size=1_000_000)
        admission.register(self.store)
        self.loop = asyncio.new_event_loop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        api = ApiServer(self.store)
        self.loop.run_until_complete(start_server(api.app(), "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    def call(self, fn: Any, *args: Any) -> Any:
        async def wrapper() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result()


def fill_pods(harness: Harness, count: int) -> list[dict[str, Any]]:
    def fill() -> list[dict[str, Any]]:
        table = harness.store.objects[PODS.key]
        table.clear()
        for i in range(count):
            pod = make_pod(i)
            harness.store.rv += 1
            pod["metadata"]["resourceVersion"] = str(harness.store.rv)
            table[("default", pod["metadata"]["name"])] = pod
        return list(table.values())

    return harness.call(fill)


def bench_list(harness: Harness, count: int, session: requests.Session) -> dict[str, float]:
    pods = fill_pods(harness, count)
    started = time.perf_counter()
    baseline = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods})
    dumps_seconds = time.perf_counter() - started

    best = float("inf")
    size = 0
    for _ in range(3):
        started = time.perf_counter()
        response = session.get(f"{harness.url}/api/v1/pods")
        body = response.content
        best = min(best, time.perf_counter() - started)
        size = len(body)
    assert response.status_code == 200
    started = time.perf_counter()
    page_token, pages = None, 0
    while True:
        url = f"{harness.url}/api/v1/pods?limit=500" + (f"&continue={page_token}" if page_token else "")
        page = session.get(url).json()
        pages += 1
        page_token = page["metadata"].get("continue")
        if not page_token:
            break
    paged = time.perf_counter() - started
    return {
        "pods": count,
        "http_list_s": best,
        "json_dumps_s": dumps_seconds,
        "ratio": best / dumps_seconds,
        "mb": size / 1e6,
        "paged_500_s": paged,
        "pages": pages,
        "baseline_len": len(baseline),
    }


def bench_watch(harness: Harness, watchers: int, events: int) -> dict[str, float]:
    start_rv = harness.call(lambda: harness.store.rv)
    received = [0] * watchers
    done = threading.Barrier(watchers + 1)
    opened = threading.Barrier(watchers + 1)

    def watch(index: int) -> None:
        url = (
            f"{harness.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={start_rv}&timeoutSeconds=120"
        )
        with requests.get(url, stream=True, timeout=120) as response:
            opened.wait()
            for line in response.iter_lines(chunk_size=65536):
                if line:
                    received[index] += 1
                    if received[index] >= events:
                        break
        done.wait()

    for i in range(watchers):
        threading.Thread(target=watch, args=(i,), daemon=True).start()
    opened.wait()
    started = time.perf_counter()

    def write_all() -> None:
        for i in range(events):
            harness.store.create(
                CONFIGMAPS, {"metadata": {"name": f"w{watchers}-{i}", "namespace": "default"}, "data": {"i": str(i)}}
            )

    harness.call(write_all)
    done.wait()
    elapsed = time.perf_counter() - started
    return {"watchers": watchers, "events": events, "seconds": elapsed, "events_per_s_per_watcher": events / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()

    harness = Harness()
    session = requests.Session()
    print("democluster bench")
    print(f"{'pods':>8} {'HTTP list':>10} {'json.dumps':>11} {'ratio':>6} {'MB':>7} {'paged x500':>11}")
    for size in args.sizes:
        r = bench_list(harness, size, session)
        print(
            f"{r['pods']:>8} {r['http_list_s']:>9.3f}s {r['json_dumps_s']:>10.3f}s {r['ratio']:>6.2f} "
            f"{r['mb']:>7.1f} {r['paged_500_s']:>10.3f}s"
        )
    fill_pods(harness, 0)
    print(f"{'watchers':>8} {'events':>8} {'seconds':>8} {'events/s per watcher':>21}")
    for watchers in (1, 10):
        r = bench_watch(harness, watchers, args.events)
        print(f"{r['watchers']:>8} {r['events']:>8} {r['seconds']:>7.2f}s {r['events_per_s_per_watcher']:>21.0f}")


if __name__ == "__main__":
    main()
