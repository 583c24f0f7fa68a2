"""A real democluster over HTTPS for the edit tests, a Cluster row for it, and Deployments to edit.

Use with ``pytest_plugins = ["tests.edit_support"]`` in a test module.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import clusters
from tests.support.clusters import FLAVORS
from workloads import kube
from workloads.models import Cluster
from workloads.sync.watcher import sync_once

REPO = Path(__file__).resolve().parents[1]
TOKEN = "edit-test-token"
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
_names = itertools.count(1)


def wait_for(condition: Any, timeout: float = 10.0, interval: float = 0.05, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)


@dataclass
class EditCluster:
    kubeconfig: Path
    home: Path
    flavor: str = "democluster"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(KUBECONFIG=str(self.kubeconfig), HOME=str(self.home))
        result = subprocess.run(
            [KUBECTL, "--cache-dir", str(self.home / "cache"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            input=input,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    def get(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
        return json.loads(self.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)

    def find(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """The object, or None while it does not exist (a Pod between being replaced and recreated)."""
        result = self.kubectl("get", kind, name, "-n", namespace, "-o", "json", "--ignore-not-found")
        return json.loads(result.stdout) if result.stdout.strip() else None


@pytest.fixture(scope="session", params=FLAVORS)
def edit_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EditCluster]:
    """democluster, then the real control plane (shared by the session; tests use names of their own)."""
    home = tmp_path_factory.mktemp(f"edit-{request.param}")
    if request.param == "kubernetes":
        real = request.getfixturevalue("real_kubernetes")
        yield EditCluster(real.kubeconfig, home, "kubernetes")
        return
    kubeconfig = home / "kc"
    log = open(home / "democluster.log", "w+")  # noqa: SIM115 - open for the whole session
    process = subprocess.Popen(
        [sys.executable, "-m", "democluster", "--port", "0", "--tls", "--token", TOKEN]
        + ["--write-kubeconfig", str(kubeconfig), "--fresh", "--fast", "--no-scenario"],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:

        def ready() -> bool:
            assert process.poll() is None, (home / "democluster.log").read_text()
            return "democluster listening on https://" in (home / "democluster.log").read_text() and (
                kubeconfig.exists() and kubeconfig.stat().st_size > 0
            )

        wait_for(ready, timeout=30, message="democluster to listen")
        yield EditCluster(kubeconfig, home, "democluster")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


DB_CREDENTIALS = """apiVersion: v1
kind: Secret
metadata: {name: db-credentials, namespace: default}
stringData: {password: not-a-real-password}
"""


def deployment_manifest(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.25",
                            "env": [
                                {"name": "MODE", "value": "prod"},
                                {"name": "LEVEL", "value": "info"},
                                {
                                    "name": "PASSWORD",
                                    "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}},
                                },
                            ],
                            "ports": [{"name": "http", "containerPort": 80}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                            },
                        },
                        {"name": "sidecar", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 3600"]},
                    ]
                },
            },
        },
    }


@pytest.fixture
def cluster_row(edit_cluster: EditCluster, db: None) -> Cluster:
    """The Cluster, with its Namespaces in the mirror (Apply manifest writes only to those)."""
    cluster = clusters.cluster_row(edit_cluster, name="demo")
    sync_once(cluster, ["Namespace"])
    return cluster


@pytest.fixture
def deployment(edit_cluster: EditCluster, cluster_row: Cluster) -> str:
    """A fresh Deployment (unique name per test) in the cluster and in the mirror; returns its name."""
    name = f"web-{os.getpid()}-{next(_names)}"
    # The Secret its template reads: without it a kubelet holds the Pods in CreateContainerConfigError.
    edit_cluster.kubectl("apply", "-f", "-", input=DB_CREDENTIALS)
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(deployment_manifest(name)))
    settle(edit_cluster, name)
    sync_once(cluster_row, ["Deployment"])
    yield name
    edit_cluster.kubectl("delete", "deployment", name, "--wait=false", check=False)


def settle(cluster: EditCluster, name: str) -> None:
    """Wait for the rollout to finish and the status to stop moving (so resourceVersions compare)."""
    cluster.kubectl("rollout", "status", f"deployment/{name}", "--timeout=30s")
    last = [""]

    def still() -> bool:
        rv = cluster.get("deployment", name)["metadata"]["resourceVersion"]
        same, last[0] = rv == last[0], rv
        return same

    wait_for(still, timeout=15, interval=0.3, message="the Deployment's status to settle")


def snapshot(cluster: EditCluster, name: str, kind: str = "deployment") -> tuple[str, dict[str, Any]]:
    """resourceVersion and spec, as kubectl reads them: equal before and after means nothing changed."""
    obj = cluster.get(kind, name)
    return obj["metadata"]["resourceVersion"], obj["spec"]


def edit_url(name: str, suffix: str = "edit/", kind: str = "deployment") -> str:
    return f"/c/demo/ns/default/{kind}/{name}/{suffix}"


def form_data(html: str) -> dict[str, Any]:
    """The fields of the edit form as the browser would submit them (text inputs, textareas, selects, checkboxes)."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.data: dict[str, Any] = {}
            self.textarea: str | None = None
            self.select: str | None = None
            self.in_form = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "form" and a.get("id") in ("edit-form", "yaml-form"):
                self.in_form = True
            if not self.in_form:
                return
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        self.data[name] = a.get("value") or "on"
                else:
                    self.data[name] = a.get("value") or ""
            elif tag == "textarea" and name:
                self.textarea = name
                self.data[name] = ""
            elif tag == "select" and name:
                self.select = name
                self.data.setdefault(name, "")
            elif tag == "option" and self.select and "selected" in a:
                self.data[self.select] = a.get("value") or ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "textarea":
                self.textarea = None
            elif tag == "select":
                self.select = None
            elif tag == "form":
                self.in_form = False

        def handle_data(self, data: str) -> None:
            if self.textarea:
                self.data[self.textarea] += data

    parser = Parser()
    parser.feed(html)
    # A textarea's first newline is not part of its value.
    return {k: (v[1:] if isinstance(v, str) and v.startswith("\n") else v) for k, v in parser.data.items()}


def api_get(cluster: Cluster, name: str) -> dict[str, Any]:
    api = kube.api_client_for(kube.config_for_cluster(cluster))
    try:
        return kube.get_object(api, kube.kind_for("Deployment"), "default", name)
    finally:
        api.close()
