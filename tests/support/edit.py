"""The edit tests' cluster (democluster or the real control plane, shared by the session; the fixture
``edit_cluster`` in tests/conftest.py), Deployments to edit, and reading the edit form as a browser submits it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import stack
from tests.support.stack import wait_for
from workloads import kube
from workloads.models import Cluster

TOKEN = "edit-test-token"


@dataclass
class EditCluster:
    kubeconfig: Path
    home: Path
    flavor: str = "democluster"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return stack.kubectl(self.kubeconfig, self.home / "cache", *args, input=input, check=check, timeout=30)

    def get(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
        return json.loads(self.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)

    def find(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """The object, or None while it does not exist (a Pod between being replaced and recreated)."""
        result = self.kubectl("get", kind, name, "-n", namespace, "-o", "json", "--ignore-not-found")
        return json.loads(result.stdout) if result.stdout.strip() else None


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


def settle(cluster: EditCluster, name: str) -> None:
    """Wait for the rollout to finish and the status to stop moving (so resourceVersions compare)."""
    cluster.kubectl("rollout", "status", f"deployment/{name}", "--timeout=30s")
    last = [""]

    def still() -> bool:
        rv = cluster.get("deployment", name)["metadata"]["resourceVersion"]
        same, last[0] = rv == last[0], rv
        return same

    wait_for(still, timeout=15, interval=0.3, what="the Deployment's status to settle")


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
