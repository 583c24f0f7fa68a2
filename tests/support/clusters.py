"""The two clusters Podium's suites run against, behind one small interface.

``democluster`` is our simulator (tests.support.stack.Democluster); ``kubernetes`` is the real
control plane (realcluster.RealCluster: kube-apiserver, controller manager, scheduler, etcd, kwok
nodes). Both offer what the tests need: ``kubectl``, ``get_json``, a kubeconfig, stopping and
starting the API server, and compacting history so that old resourceVersions answer 410.

A test module asks for the ``target`` fixture of its folder's conftest (parametrized over both)
and never branches on which one it got, except where a difference is written down in
democluster/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from realcluster.cluster import RealCluster
from tests.support import stack
from workloads.models import Cluster

FLAVORS = ("democluster", "kubernetes")


class TargetCluster(Protocol):
    flavor: str
    kubeconfig: Path
    url: str

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> str: ...

    def get_json(self, *args: str) -> dict: ...

    def stop(self) -> None: ...

    def start(self) -> Any: ...

    def compact(self) -> None: ...


class Kubernetes:
    """The real control plane with democluster's test interface. ``stop``/``start`` stop and start
    kube-apiserver alone (etcd keeps the state, as democluster's snapshot does)."""

    flavor = "kubernetes"

    def __init__(self, cluster: RealCluster, *, kubeconfig: Path | None = None) -> None:
        self.cluster = cluster
        self.kubeconfig = kubeconfig or cluster.kubeconfig
        self.url = cluster.server

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> str:
        cache = self.cluster.directory / "kubecache"
        return stack.kubectl(self.kubeconfig, cache, *args, input=input, check=check, timeout=timeout).stdout

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def stop(self) -> None:
        self.cluster.stop_apiserver()

    def start(self) -> Kubernetes:
        self.cluster.start_apiserver()
        return self

    def compact(self) -> None:
        self.cluster.compact()


def cluster_row(target: TargetCluster, name: str = "dc", **extra: Any) -> Cluster:
    """The Cluster row Podium would have for it: democluster's own kind, or a kubeconfig context. Podium acts as
    itself there (the admin credentials) unless ``impersonate=True`` is asked for."""
    extra.setdefault("impersonate", False)
    if target.flavor == "democluster":
        return Cluster.objects.create(
            name=name, connection=Cluster.Connection.DEMOCLUSTER, kubeconfig_path=str(target.kubeconfig), **extra
        )
    return Cluster.objects.create(
        name=name,
        connection=Cluster.Connection.KUBECONFIG,
        kubeconfig_path=str(target.kubeconfig),
        context="realcluster",
        **extra,
    )


@contextmanager
def started(
    request: pytest.FixtureRequest, folder: Path, *, namespaces: tuple[str, ...], manifest: str = "", args: tuple = ()
) -> Iterator[TargetCluster]:
    """The ``target`` of a fixture parametrized over FLAVORS: a democluster of its own in ``folder`` (fresh, no
    scenario, more CLI arguments in ``args``), or the session's real control plane with ``namespaces`` deleted
    first (what an earlier test left there); ``manifest`` applied to either. The democluster stops at the end."""
    if request.param == "democluster":
        dc = stack.Democluster(folder, "--fresh", "--no-scenario", *args).start()
        if manifest:
            dc.kubectl("apply", "-f", "-", input=manifest)
        yield dc
        dc.stop()
        return
    target = Kubernetes(request.getfixturevalue("real_kubernetes"))
    target.kubectl("delete", "namespace", *namespaces, "--ignore-not-found", "--wait=true", timeout=120)
    if manifest:
        target.kubectl("apply", "-f", "-", input=manifest)
    yield target
