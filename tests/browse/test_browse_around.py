"""A workload's page shows what stands around it, mirrored from the cluster: the Services selecting its Pods (ports,
ready endpoints), the ConfigMaps and Secrets its template reads (flagged when missing), its autoscaler (and a
warning beside Scale) and the disruption budgets guarding its Pods."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from tests.support.clusters import TargetCluster
from tests.support.manifests import around, documents
from tests.support.stack import wait_for
from workloads.models import Cluster

pytestmark = pytest.mark.django_db(transaction=True)

AROUND = (
    """
apiVersion: v1
kind: Namespace
metadata: {name: around}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: around}
data: {size: large}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret, namespace: around}
stringData: {password: hunter2-around}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: around}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{name: http, containerPort: 8080}]
        envFrom: [{configMapRef: {name: web-config}}]
        env:
        - {name: COLOUR, valueFrom: {configMapKeyRef: {name: settings, key: colour}}}
        - {name: SIZE, valueFrom: {configMapKeyRef: {name: settings, key: size}}}
        - {name: PASSWORD, valueFrom: {secretKeyRef: {name: web-secret, key: password}}}
"""
    + documents(*around("web", "around"))
    + """---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: around}
spec:
  selector: {app: other}
  ports: [{port: 81}]
"""
)
PAGE = "/c/dc/ns/around/deployment/web/"


def page_after_sync(client: Client, until: str, *, present: bool = True) -> str:
    """The page once a sync shows (or no longer shows) ``until``: the cluster's controllers take a moment."""

    def ready() -> str | None:
        call_command("sync", "--once", "--cluster", "dc")
        html = client.get(PAGE).content.decode()
        return html if (until in html) == present else None

    return wait_for(ready, timeout=60, interval=1, what=f"{until!r} on the page")


def test_it_shows_what_stands_around_a_deployment(
    target: TargetCluster, cluster: Cluster, editor_client: Client
) -> None:
    target.kubectl("apply", "-f", "-", input=AROUND)
    if target.flavor == "democluster":
        # A kubelet cannot start these Pods, and the rollout panel says so in the kubelet's words.
        html = page_after_sync(editor_client, "cannot start container web (CreateContainerConfigError)")
        assert "configmap &quot;web-config&quot; not found" in html
        assert "0 of 2 ready" in html
    else:  # kwok is no kubelet: it runs the Pods without reading their ConfigMaps (democluster/README.md)
        target.kubectl("rollout", "status", "-n", "around", "deploy/web", "--timeout=60s", timeout=90)
        html = page_after_sync(editor_client, "2 of 2 ready")

    assert "The Pods will fail to start: ConfigMap web-config not found" in html
    assert "The Pods will fail to start: key colour not found in ConfigMap settings" in html
    assert "key size not found" not in html  # the key that exists is not flagged
    assert "http 80→http/TCP" in html
    assert ">other<" not in html  # a Service selecting other Pods is not shown
    assert "HorizontalPodAutoscaler web: 2 to 4 replicas" in html
    assert "it will override a manual scale" in html  # beside the Scale action
    assert "PodDisruptionBudget web allows no disruptions now" in html
    assert "hunter2" not in html
    # The ownership tree's second ring: the missing ConfigMap first, then the Service, autoscaler and budget.
    tree = html[html.index('<svg class="tree"') : html.index("</svg>", html.index('<svg class="tree"'))]
    assert tree.index(">web-config<") < tree.index(">web<", tree.index("Service"))
    for kind in ("Service", "HPA", "PDB", "Secret"):
        assert f">{kind} · " in tree or f">{kind}<" in tree, kind
    assert 'class="edge around"' in tree

    # Creating the missing ConfigMap clears its warning (the key warning about another ConfigMap stays).
    target.kubectl(
        "apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: around}\n"
    )
    html = page_after_sync(editor_client, "ConfigMap web-config not found", present=False)
    assert "key colour not found in ConfigMap settings" in html
