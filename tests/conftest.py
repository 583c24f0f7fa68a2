"""Fixtures shared by more than one folder of tests: users with obvious roles and a logged-in client for each,
the clusters (democluster through the one launcher in tests/support/stack.py, and the real control plane), Celery
workers, and a real OpenID provider. What one folder alone uses is in its own conftest.py; the code behind these
fixtures is in tests/support/."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client

from realcluster.cluster import RealCluster
from tests.support import clusters, edit, impersonation
from tests.support.clusters import FLAVORS, Kubernetes, TargetCluster
from tests.support.edit import EditCluster
from tests.support.impersonation import HIDDEN, PODIUM_TOKEN, SHOP, Target
from tests.support.oidc import OidcProvider
from tests.support.stack import CeleryWorker, Democluster
from tests.support.sync import clean_redis
from workloads.models import Cluster
from workloads.sync.watcher import sync_once

# --- people -----------------------------------------------------------------------------------------------------------


def _user(name: str, role: str | None) -> User:
    user = User.objects.create_user(name, f"{name}@example.com", "correct horse battery staple")
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db: None) -> User:
    return _user("vera-viewer", "viewer")


@pytest.fixture
def editor(db: None) -> User:
    return _user("eddie-editor", "editor")


@pytest.fixture
def admin_user(db: None) -> User:
    return _user("ada-admin", "admin")


@pytest.fixture
def outsider(db: None) -> User:
    """Logged in, but holds no role."""
    return _user("olly-outsider", None)


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    return _client_for(viewer)


@pytest.fixture
def editor_client(editor: User) -> Client:
    return _client_for(editor)


@pytest.fixture
def admin_client_(admin_user: User) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return _client_for(outsider)


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    """Test users need no slow password hashing (one PBKDF2 hash costs most of a test's setup)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: None) -> Client:
    """An editor in Podium, in the group dev (the impersonation tests' person: see tests/support/impersonation.py)."""
    user = User.objects.create_user("alice", "alice@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="editor"), Group.objects.get_or_create(name="dev")[0])
    client = Client()
    client.force_login(user)
    return client


# --- clusters ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_kubernetes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """The real control plane (kube-apiserver, controller manager, scheduler, etcd, kwok nodes),
    one per test session, started on first use. Tests that share it work in namespaces or names of
    their own."""
    cluster = RealCluster.start(tmp_path_factory.mktemp("realcluster"))
    yield cluster
    cluster.stop()


@pytest.fixture
def oidc_provider(tmp_path: Path) -> Iterator[Callable[..., OidcProvider]]:
    """Starts a real OpenID provider (tests/support/oidc.py) for a Podium at a URL, with accounts and options."""
    started: list[OidcProvider] = []

    def start(podium_url: str, accounts: dict[str, dict[str, Any]], **options: Any) -> OidcProvider:
        folder = tmp_path / f"oidc-provider-{len(started)}"
        folder.mkdir()
        provider = OidcProvider(folder, podium_url, accounts, **options)
        started.append(provider)
        return provider.start()

    yield start
    for provider in started:
        provider.stop()


@pytest.fixture
def start_democluster(tmp_path: Path) -> Iterator[Callable[..., Democluster]]:
    """A factory: ``start_democluster("--token", f"{LIMITED_TOKEN}:pods", token=TOKEN)`` starts a fresh democluster
    without the scenario (more CLI arguments in ``extra``); each is stopped after the test."""
    started: list[Democluster] = []

    def start(*extra: str, token: str = "") -> Democluster:
        name = f"democluster-{len(started)}"
        cluster = Democluster(tmp_path / name, "--fresh", "--no-scenario", *extra, name=name, token=token)
        started.append(cluster)
        return cluster.start()

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture(params=FLAVORS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TargetCluster]:
    """A cluster of its own for each sync test (the mirror is compared with all of it): democluster,
    then the real control plane. ``@pytest.mark.no_watch_cache`` serves the real one's watches
    from etcd, so that compacting it makes old resourceVersions 410 at once."""
    if request.param == "democluster":
        dc = Democluster(tmp_path, "--fresh", "--no-scenario").start()
        yield dc
        dc.stop()
        return
    watch_cache = request.node.get_closest_marker("no_watch_cache") is None
    real = RealCluster.start(tmp_path / "realcluster", watch_cache=watch_cache)
    yield Kubernetes(real)
    real.stop()


@pytest.fixture
def cluster(target: TargetCluster) -> Cluster:
    """``target``'s Cluster row, as Podium would have it."""
    return clusters.cluster_row(target)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., CeleryWorker]]:
    """A factory of Celery workers (with beat) sharing this test's database and a clean Redis; killed after."""
    clean_redis()
    workers: list[CeleryWorker] = []

    def start(name: str = "worker", **env: str) -> CeleryWorker:
        worker = CeleryWorker(tmp_path, name, **env).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()
    clean_redis()


# --- the edit tests' cluster ------------------------------------------------------------------------------------------

_names = itertools.count(1)


@pytest.fixture(scope="session", params=FLAVORS)
def edit_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EditCluster]:
    """democluster, then the real control plane (shared by the session; tests use names of their own)."""
    home = tmp_path_factory.mktemp(f"edit-{request.param}")
    if request.param == "kubernetes":
        real = request.getfixturevalue("real_kubernetes")
        yield EditCluster(real.kubeconfig, home, "kubernetes")
        return
    dc = Democluster(home, "--fresh", "--no-scenario", token=edit.TOKEN).start()
    try:
        yield EditCluster(dc.kubeconfig, home, "democluster")
    finally:
        dc.stop()


@pytest.fixture
def cluster_row(edit_cluster: EditCluster, db: None) -> Cluster:
    """The Cluster, with its Namespaces in the mirror (Apply manifest writes only to those)."""
    cluster = clusters.cluster_row(edit_cluster, name="demo")
    sync_once(cluster, ["Namespace"])
    return cluster


@pytest.fixture
def deployment(edit_cluster: EditCluster, cluster_row: Cluster) -> Iterator[str]:
    """A fresh Deployment (unique name per test) in the cluster and in the mirror; returns its name."""
    name = f"web-{os.getpid()}-{next(_names)}"
    # The Secret its template reads: without it a kubelet holds the Pods in CreateContainerConfigError.
    edit_cluster.kubectl("apply", "-f", "-", input=edit.DB_CREDENTIALS)
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(edit.deployment_manifest(name)))
    edit.settle(edit_cluster, name)
    sync_once(cluster_row, ["Deployment"])
    yield name
    edit_cluster.kubectl("delete", "deployment", name, "--wait=false", check=False)


# --- Podium acting as the signed-in person (tests/support/impersonation.py) -------------------------------------------


@pytest.fixture(scope="module", params=FLAVORS)
def imp_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """democluster, then the real control plane, with Podium's limited credential, alice's Roles and the objects
    of imp-shop and imp-demo; each API server writes an audit log."""
    folder = tmp_path_factory.mktemp("impersonation")
    dc = None
    if request.param == "democluster":
        audit = folder / "audit.log"
        user = f"--user={PODIUM_TOKEN},podium-limited"
        dc = Democluster(folder, "--fresh", "--no-scenario", user, f"--audit-log-path={audit}").start()
        config = yaml.safe_load(dc.kubeconfig.read_text())
        config["users"][0]["user"]["token"] = PODIUM_TOKEN
        podium = folder / "podium.kubeconfig"
        podium.write_text(yaml.safe_dump(config))
        cluster: TargetCluster = dc
    else:
        real: RealCluster = request.getfixturevalue("real_kubernetes")
        cluster = Kubernetes(real)
        cluster.kubectl("delete", "namespace", SHOP, HIDDEN, "--ignore-not-found", "--wait=true", timeout=120)
        podium, audit = real.token_kubeconfig(PODIUM_TOKEN, folder / "podium.kubeconfig"), real.directory / "audit.log"
    cluster.kubectl("apply", "-f", "-", input=impersonation.podium_role())
    cluster.kubectl("apply", "-f", "-", input=impersonation.OBJECTS)
    yield Target(cluster, podium, audit)
    cluster.kubectl("delete", "clusterrolebinding,clusterrole", "podium-impersonation-test", check=False)
    if dc is not None:
        dc.stop()


@pytest.fixture
def imp_cluster(imp_target: Target) -> Cluster:
    """``imp_target``'s Cluster row: Podium acts there as the signed-in person."""
    cache.clear()  # what the last test's person might do (a new Cluster row may get the same id)
    cluster = Cluster.objects.create(
        name="demo",
        connection=Cluster.Connection.KUBECONFIG,
        kubeconfig_path=str(imp_target.podium_kubeconfig),
        context="realcluster" if imp_target.flavor == "kubernetes" else "",
    )
    assert cluster.impersonates  # the default for a kubeconfig cluster
    sync_once(cluster, ["Namespace", "Deployment", "StatefulSet", "ReplicaSet", "Pod"])
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.CONNECTED, cluster.status_message
    return cluster
