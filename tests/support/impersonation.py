"""Podium acting as the signed-in person, on democluster and the real control plane: Podium's own credential is
the user podium-limited bound to the deploy ClusterRole (which grants ``impersonate`` on users and groups); the
person alice (the fixture ``alice``) is an editor in the group ``dev``, bound to a Role that may read ``imp-shop`` and
patch its Deployments but not scale its StatefulSets, and nothing in ``imp-demo``. Each API server writes an
audit log naming whom Podium acted as. The fixtures ``imp_target`` and ``imp_cluster`` are in tests/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.support.clusters import TargetCluster
from workloads import kube

PODIUM_TOKEN = "podium-limited-token"
SHOP = "imp-shop"
HIDDEN = "imp-demo"

OBJECTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {SHOP}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {SHOP}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: "nginx:1.27"}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {SHOP}}}
spec:
  replicas: 1
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec: {{containers: [{{name: db, image: "postgres:16"}}]}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {HIDDEN}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: secret-web, namespace: {HIDDEN}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: secret-web}}}}
  template:
    metadata: {{labels: {{app: secret-web}}}}
    spec: {{containers: [{{name: app, image: "nginx:1.27"}}]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: dev, namespace: {SHOP}}}
rules:
- {{apiGroups: [apps], resources: [deployments, statefulsets, replicasets], verbs: [get, list, watch]}}
- {{apiGroups: [apps], resources: [deployments], verbs: [patch]}}
- {{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dev, namespace: {SHOP}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}}]
"""


def podium_role() -> str:
    """The deploy ClusterRole (deploy/kubernetes/10-rbac.yaml's rules), bound to Podium's test credential."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "podium-impersonation-test"},
        "rules": kube.cluster_role_rules(),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "podium-impersonation-test"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "podium-limited"}],
    }
    return yaml.safe_dump_all([role, binding])


class Target:
    def __init__(self, cluster: TargetCluster, podium_kubeconfig: Path, audit_log: Path) -> None:
        self.cluster, self.podium_kubeconfig, self.audit_log = cluster, podium_kubeconfig, audit_log
        self.flavor = cluster.flavor

    def audited(self, verb: str, name: str, subresource: str = "") -> list[dict]:
        """The API server's audit events for ``verb`` of ``name`` in the shop namespace, as Podium sent them."""
        events = [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
        return [
            e
            for e in events
            if e.get("verb") == verb
            and e.get("objectRef", {}).get("namespace") == SHOP
            and e["objectRef"].get("name") == name
            and e["objectRef"].get("subresource", "") == subresource
            and e.get("stage") == "ResponseComplete"
            and e["user"]["username"] == "podium-limited"
        ]


ALICE = ("alice", ("dev", "editor", "system:authenticated"))


def impersonated(event: dict) -> tuple[str, tuple[str, ...]]:
    who = event.get("impersonatedUser") or {}
    return who.get("username", ""), tuple(sorted(who.get("groups") or []))
