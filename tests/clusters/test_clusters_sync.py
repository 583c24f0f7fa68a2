"""Real-cluster connections end to end: two democlusters (TLS, bearer tokens) behind one kubeconfig with a
context each, imported with `manage.py clusters import`, synced with `sync_once`: connected, unreachable,
unauthorized and forbidden, each cluster on its own; and unauthorized and forbidden from the real control
plane, where a real RBAC ClusterRole decides what a token may list."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from realcluster.cluster import RealCluster
from tests.support.democlusters import LIMITED_TOKEN, TOKEN, write_kubeconfig
from tests.support.stack import Democluster
from workloads.models import Cluster, Namespace, Node, SyncState
from workloads.sync.watcher import SYNC_KINDS, sync_once

pytestmark = pytest.mark.django_db

# What the limited token may read; every other kind answers 403.
ALLOWED = {"Pod": "pods", "Deployment": "deployments", "ReplicaSet": "replicasets"}


def import_all(path: Path) -> list[Cluster]:
    call_command("clusters", "import", "--kubeconfig", str(path), "--all", stdout=StringIO())
    return list(Cluster.objects.order_by("name"))


def synced(cluster: Cluster) -> Cluster:
    sync_once(cluster)
    cluster.refresh_from_db()
    return cluster


@pytest.fixture
def east_and_west(
    start_democluster: Callable[..., Democluster], tmp_path: Path
) -> tuple[Democluster, Democluster, Path]:
    east = start_democluster("--token", f"{LIMITED_TOKEN}:{','.join(ALLOWED.values())}", token=TOKEN)
    west = start_democluster(token=TOKEN)
    path = write_kubeconfig(tmp_path / "kubeconfig", {"east": (east, TOKEN), "west": (west, TOKEN)})
    return east, west, path


def test_it_imports_both_contexts_and_syncs_each_cluster(east_and_west: tuple) -> None:
    _, _, path = east_and_west
    east, west = import_all(path)
    assert [(c.name, c.connection, c.context) for c in (east, west)] == [
        ("east", "kubeconfig", "east"),
        ("west", "kubeconfig", "west"),
    ]

    for cluster in (east, west):
        cluster = synced(cluster)
        assert (cluster.status, cluster.status_message) == ("connected", "")
        assert cluster.server_version.startswith("v1.")
        assert cluster.last_sync_at is not None
        assert set(cluster.sync_states.values_list("status", flat=True)) == {"idle"}
        assert Namespace.objects.filter(cluster=cluster, name="default").exists()
        assert Node.objects.filter(cluster=cluster).exists()
    # Each mirror holds its own cluster's objects: same names, different uids.
    assert set(Namespace.objects.filter(cluster=east).values_list("uid", flat=True)).isdisjoint(
        Namespace.objects.filter(cluster=west).values_list("uid", flat=True)
    )


def test_it_syncs_contexts_from_several_kubeconfig_files_like_kubectl(
    east_and_west: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    east_server, west_server, _ = east_and_west
    east_file = write_kubeconfig(tmp_path / "east", {"east": (east_server, TOKEN)})
    west_file = write_kubeconfig(tmp_path / "west", {"west": (west_server, TOKEN)})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(east_file), str(west_file)]))
    call_command("clusters", "import", "--all", stdout=StringIO())
    monkeypatch.delenv("KUBECONFIG")  # the worker that syncs need not have it: the Cluster keeps the paths

    east, west = Cluster.objects.order_by("name")

    assert [synced(c).status for c in (east, west)] == ["connected", "connected"]


def test_it_shows_a_stopped_cluster_unreachable_while_the_other_stays_connected(east_and_west: tuple) -> None:
    _, west_server, path = east_and_west
    east, west = import_all(path)
    assert synced(east).status == synced(west).status == "connected"

    west_server.stop()
    west, east = synced(west), synced(east)

    assert west.status == "unreachable"
    assert "cannot reach the API server" in west.status_message
    assert set(west.sync_states.values_list("status", flat=True)) == {"unreachable"}
    assert Namespace.objects.filter(cluster=west).exists()  # the mirror keeps what it last saw
    assert (east.status, east.status_message) == ("connected", "")


def test_it_shows_a_refused_token_as_unauthorized(
    start_democluster: Callable[..., Democluster], tmp_path: Path
) -> None:
    server = start_democluster(token=TOKEN)
    path = write_kubeconfig(tmp_path / "kubeconfig", {"good": (server, TOKEN), "stale": (server, "not-the-token")})
    good, stale = import_all(path)

    stale = synced(stale)

    assert stale.status == "unauthorized"
    assert "Unauthorized" in stale.status_message
    assert set(stale.sync_states.values_list("status", flat=True)) == {"unauthorized"}
    assert synced(good).status == "connected"


def test_it_names_the_kinds_a_limited_token_may_not_list(east_and_west: tuple, tmp_path: Path) -> None:
    east_server, _, _ = east_and_west
    path = write_kubeconfig(tmp_path / "limited", {"east-limited": (east_server, LIMITED_TOKEN)})
    (cluster,) = import_all(path)

    cluster = synced(cluster)

    forbidden = sorted(set(SYNC_KINDS) - set(ALLOWED))
    assert cluster.status == "forbidden"
    assert cluster.status_message.startswith(f"forbidden to list/watch: {', '.join(forbidden)}. ")
    assert "forbidden" in cluster.status_message.split(". ", 1)[1]  # followed by the server's own message
    states = dict(cluster.sync_states.values_list("kind", "status"))
    assert {kind for kind, status in states.items() if status == SyncState.Status.FORBIDDEN} == set(forbidden)
    assert {kind for kind, status in states.items() if status == SyncState.Status.IDLE} == set(ALLOWED)


# --- the same answers from the real control plane, where RBAC decides -------------------------------------------


def test_on_kubernetes_a_refused_token_is_unauthorized(real_kubernetes: RealCluster, tmp_path: Path) -> None:
    (cluster,) = import_all(real_kubernetes.token_kubeconfig("not-a-token-of-this-cluster", tmp_path / "stale"))

    cluster = synced(cluster)

    assert cluster.status == "unauthorized"
    assert "Unauthorized" in cluster.status_message
    assert set(cluster.sync_states.values_list("status", flat=True)) == {"unauthorized"}


def test_on_kubernetes_a_role_that_may_list_some_kinds_makes_the_others_forbidden(
    real_kubernetes: RealCluster, tmp_path: Path
) -> None:
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "podium-limited"}}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "podium-limited"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "podium-limited"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "podium-limited"}],
    }
    real_kubernetes.kubectl("apply", "-f", "-", input=json.dumps({**role, "rules": rules}))
    real_kubernetes.kubectl("apply", "-f", "-", input=json.dumps(binding))
    try:
        (cluster,) = import_all(real_kubernetes.token_kubeconfig("podium-limited-token", tmp_path / "limited"))
        cluster = synced(cluster)
    finally:
        real_kubernetes.kubectl("delete", "clusterrolebinding,clusterrole", "podium-limited")

    forbidden = sorted(set(SYNC_KINDS) - set(ALLOWED))
    assert cluster.status == "forbidden"
    assert cluster.status_message.startswith(f"forbidden to list/watch: {', '.join(forbidden)}. ")
    assert 'User "podium-limited" cannot list resource' in cluster.status_message  # the server's own words
    states = dict(cluster.sync_states.values_list("kind", "status"))
    assert {kind for kind, status in states.items() if status == SyncState.Status.FORBIDDEN} == set(forbidden)
    assert {kind for kind, status in states.items() if status == SyncState.Status.IDLE} == set(ALLOWED)
    assert Node.objects.filter(cluster=cluster).count() == 0  # what it may not list is not mirrored
