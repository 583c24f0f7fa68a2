"""The real control plane the suites run on: built from the pinned modules, it reports its real
version, schedules onto kwok nodes, and kwok moves Pods through the stages Podium's tests script
(the same failures democluster offers)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from realcluster.cluster import RealCluster
from tests.support.stack import wait_for

KUBE_MOD = Path(__file__).resolve().parents[2] / "realcluster" / "kube" / "go.mod"
HELM_MOD = KUBE_MOD.parents[1] / "helm" / "go.mod"

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: stages}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: stages}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo, namespace: stages}
spec:
  replicas: 1
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec: {containers: [{name: web, image: "nginx:1.99-typo"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: crashy, namespace: stages}
spec:
  replicas: 1
  selector: {matchLabels: {app: crashy}}
  template:
    metadata: {labels: {app: crashy}, annotations: {democluster.podium.dev/crash: "exit=3"}}
    spec: {containers: [{name: app, image: "busybox:1.36"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: lazy, namespace: stages}
spec:
  replicas: 1
  selector: {matchLabels: {app: lazy}}
  template:
    metadata: {labels: {app: lazy}, annotations: {democluster.podium.dev/never-ready: "true"}}
    spec:
      containers:
      - name: app
        image: "nginx:1.27"
        readinessProbe: {httpGet: {path: /healthz, port: 80}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: hello, namespace: stages}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: hello, image: "busybox:1.28", command: ["sh", "-c", "echo Hello"]}]
"""


def pods(cluster: RealCluster, app: str) -> list[dict]:
    return json.loads(cluster.kubectl("get", "pods", "-n", "stages", "-l", f"app={app}", "-o", "json").stdout)["items"]


def first_container(cluster: RealCluster, app: str) -> dict:
    items = pods(cluster, app)
    return (items[0].get("status", {}).get("containerStatuses") or [{}])[0] if items else {}


def events(cluster: RealCluster, reason: str) -> list[str]:
    listed = json.loads(cluster.kubectl("get", "events", "-n", "stages", "-o", "json").stdout)["items"]
    return [e["involvedObject"]["name"] for e in listed if e["reason"] == reason]


def test_it_reports_the_version_it_was_built_from(real_kubernetes: RealCluster) -> None:
    (pinned,) = re.findall(r"^require k8s\.io/kubernetes (v[\d.]+)$", KUBE_MOD.read_text(), re.M) or re.findall(
        r"^\s+k8s\.io/kubernetes (v[\d.]+)", KUBE_MOD.read_text(), re.M
    )
    assert real_kubernetes.server_version() == pinned
    nodes = json.loads(real_kubernetes.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes} == {pinned}


def test_helm_is_the_pinned_release_and_reaches_the_cluster(real_kubernetes: RealCluster) -> None:
    (pinned,) = re.findall(r"^\s+helm\.sh/helm/v3 (v[\d.]+)", HELM_MOD.read_text(), re.M)
    assert real_kubernetes.helm("version", "--template", "{{ .Version }}").stdout == pinned
    assert real_kubernetes.helm("list", "--all-namespaces", "--output", "json").stdout.strip().startswith("[")


def test_pods_move_through_the_scripted_stages(real_kubernetes: RealCluster) -> None:
    real_kubernetes.kubectl("apply", "-f", "-", input=MANIFEST)
    try:
        real_kubernetes.kubectl("rollout", "status", "-n", "stages", "deploy/web", "--timeout=60s")
        assert {p["spec"]["nodeName"] for p in pods(real_kubernetes, "web")} <= set(real_kubernetes.node_names)

        wait_for(
            lambda: (
                first_container(real_kubernetes, "typo").get("state", {}).get("waiting", {}).get("reason")
                == "ImagePullBackOff"
            ),
            timeout=30,
            what="the typo image to back off",
        )
        assert events(real_kubernetes, "Failed") and events(real_kubernetes, "BackOff")

        wait_for(
            lambda: first_container(real_kubernetes, "crashy").get("restartCount", 0) >= 2,
            timeout=60,
            what="the crashing container to restart",
        )
        crashed = wait_for(
            lambda: (c := first_container(real_kubernetes, "crashy")).get("state", {}).get("waiting") and c,
            timeout=30,
            what="CrashLoopBackOff",
        )
        assert crashed["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert crashed["lastState"]["terminated"]["exitCode"] == 3

        lazy = wait_for(lambda: pods(real_kubernetes, "lazy"), timeout=30, what="the never-ready Pod")
        wait_for(
            lambda: pods(real_kubernetes, "lazy")[0]["status"].get("phase") == "Running",
            timeout=30,
            what="never-ready Pod running",
        )
        lazy = pods(real_kubernetes, "lazy")[0]
        ready = {c["type"]: c["status"] for c in lazy["status"]["conditions"]}
        assert ready["Ready"] == "False"

        wait_for(
            lambda: (
                json.loads(real_kubernetes.kubectl("get", "job", "hello", "-n", "stages", "-o", "json").stdout)[
                    "status"
                ].get("succeeded")
                == 1
            ),
            timeout=60,
            what="the Job to complete",
        )
    finally:
        real_kubernetes.kubectl("delete", "namespace", "stages", "--wait=false")
