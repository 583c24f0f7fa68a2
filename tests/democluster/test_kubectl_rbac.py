"""kubectl against democluster as a person RBAC governs: a refused `get` in kube-apiserver's words, a Role that
grants it, and an impersonation the token may not send. (`kubectl auth can-i` sends its review as protobuf, which
democluster does not read: see democluster/README.md.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.democluster.helpers import Democluster

ROLE = """
apiVersion: v1
kind: Namespace
metadata: {name: rbac-shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dev, namespace: rbac-shop}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [get, list, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev, namespace: rbac-shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Democluster]:
    folder = tmp_path_factory.mktemp("democluster-rbac")
    dc = Democluster(folder, "--fresh", "--fast", "--no-scenario", "--user", "alice-token,alice,dev").start()
    dc.kubectl("apply", "-f", "-", input=ROLE)
    yield dc
    dc.stop()


def test_a_refused_get_says_who_and_what(cluster: Democluster) -> None:
    result = cluster.kubectl("get", "pods", "-n", "rbac-shop", "--token", "alice-token", check=False)
    assert result.returncode != 0
    assert (
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "rbac-shop"'
        in result.stderr
    )
    assert cluster.kubectl("get", "deployments", "-n", "rbac-shop", "--token", "alice-token").returncode == 0
    impersonating = cluster.kubectl(
        "get", "pods", "-n", "rbac-shop", "--token", "alice-token", "--as", "bob", check=False
    )
    assert 'cannot impersonate-on:user-info:list resource "pods"' in impersonating.stderr
