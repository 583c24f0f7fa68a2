"""`manage.py clusters import|list`: kubeconfig contexts and the in-cluster service account become Clusters."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from workloads.management.commands import clusters as clusters_command
from workloads.models import Cluster

pytestmark = pytest.mark.django_db


def kubeconfig(path: Path, *contexts: str, current: str | None = None) -> Path:
    """A kubeconfig whose contexts point at servers that need not exist: importing never connects."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": f"https://{c}.example.com:6443"}} for c in contexts],
        "users": [{"name": c, "user": {"token": f"token-{c}"}} for c in contexts],
        "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts],
    }
    if current is not None:
        config["current-context"] = current
    path.write_text(yaml.safe_dump(config))
    return path


def clusters(*args: str) -> str:
    out = StringIO()
    call_command("clusters", *args, stdout=out)
    return out.getvalue()


def rows() -> list[tuple[str, str, str, str]]:
    return list(Cluster.objects.order_by("name").values_list("name", "connection", "kubeconfig_path", "context"))


def test_it_imports_the_current_context_by_default(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", "staging", "prod", current="prod")
    output = clusters("import", "--kubeconfig", str(path))
    assert rows() == [("prod", "kubeconfig", str(path), "prod")]
    assert "created cluster prod" in output


def test_it_imports_every_context_with_all(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", "staging", "prod", current="prod")
    clusters("import", "--kubeconfig", str(path), "--all")
    assert rows() == [("prod", "kubeconfig", str(path), "prod"), ("staging", "kubeconfig", str(path), "staging")]


def test_it_imports_chosen_contexts_under_slug_names(tmp_path: Path) -> None:
    eks = "arn:aws:eks:eu-west-1:123456789012:cluster/Prod"
    path = kubeconfig(tmp_path / "config", eks, "gke_project_europe-west1_ops", "kind-kind", current="kind-kind")
    clusters("import", "--kubeconfig", str(path), "--context", eks, "--context", "gke_project_europe-west1_ops")
    assert [(name, context) for name, _, _, context in rows()] == [
        ("arn-aws-eks-eu-west-1-123456789012-cluster-prod", eks),
        ("gke_project_europe-west1_ops", "gke_project_europe-west1_ops"),
    ]


def test_it_names_one_context_as_told(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", "prod", current="prod")
    clusters("import", "--kubeconfig", str(path), "--context", "prod", "--name", "production")
    assert rows() == [("production", "kubeconfig", str(path), "prod")]


def test_it_updates_a_cluster_imported_again_and_keeps_it_disabled(tmp_path: Path) -> None:
    old = kubeconfig(tmp_path / "old", "prod", current="prod")
    clusters("import", "--kubeconfig", str(old))
    Cluster.objects.filter(name="prod").update(enabled=False)
    new = kubeconfig(tmp_path / "new", "prod", current="prod")

    assert "updated cluster prod" in clusters("import", "--kubeconfig", str(new))
    assert "prod is up to date" in clusters("import", "--kubeconfig", str(new))
    cluster = Cluster.objects.get()
    assert (cluster.kubeconfig_path, cluster.enabled) == (str(new), False)


def test_it_reads_kubeconfig_with_several_files_like_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kubeconfig(tmp_path / "first", "dev", current="dev")
    second = kubeconfig(tmp_path / "second", "prod", current="prod")
    joined = os.pathsep.join([str(first), str(tmp_path / "absent"), str(second)])
    monkeypatch.setenv("KUBECONFIG", joined)

    clusters("import", "--all")

    assert rows() == [("dev", "kubeconfig", joined, "dev"), ("prod", "kubeconfig", joined, "prod")]
    clusters("import")  # the first file's current-context wins, as in kubectl
    assert Cluster.objects.count() == 2


def test_it_stores_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig(tmp_path / "config", "prod", current="prod")
    monkeypatch.chdir(tmp_path)
    clusters("import", "--kubeconfig", "config")
    assert Cluster.objects.get().kubeconfig_path == str(tmp_path / "config")


def test_it_says_when_the_kubeconfig_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=f"no kubeconfig file found at {tmp_path / 'nope'}"):
        clusters("import", "--kubeconfig", str(tmp_path / "nope"))
    assert not Cluster.objects.exists()


def test_it_says_which_contexts_exist_when_one_is_missing(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", "staging", "prod", current="prod")
    with pytest.raises(CommandError, match="no context named 'qa' in the kubeconfig; it has: staging, prod"):
        clusters("import", "--kubeconfig", str(path), "--context", "qa")
    assert not Cluster.objects.exists()


def test_it_asks_for_a_context_when_none_is_current(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", "staging", "prod")
    with pytest.raises(CommandError, match="sets no current-context; choose --context NAME or --all"):
        clusters("import", "--kubeconfig", str(path))


def test_it_refuses_a_file_that_is_not_a_kubeconfig(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("- just\n- a list\n")
    with pytest.raises(CommandError, match="is not a kubeconfig"):
        clusters("import", "--kubeconfig", str(path))


def test_it_never_turns_the_democluster_into_a_kubeconfig_cluster(tmp_path: Path) -> None:
    Cluster.objects.create(name="democluster", connection=Cluster.Connection.DEMOCLUSTER, kubeconfig_path="/x")
    path = kubeconfig(tmp_path / "config", "democluster", current="democluster")
    with pytest.raises(CommandError, match="already exists with connection 'democluster'; choose another name"):
        clusters("import", "--kubeconfig", str(path))
    clusters("import", "--kubeconfig", str(path), "--name", "democluster-2")
    assert rows() == [
        ("democluster", "democluster", "/x", ""),
        ("democluster-2", "kubeconfig", str(path), "democluster"),
    ]


def test_it_registers_the_in_cluster_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("service-account-token")
    monkeypatch.setattr(clusters_command, "SERVICE_ACCOUNT_DIR", tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    assert "created cluster in-cluster (in-cluster)" in clusters("import", "--in-cluster")
    assert "in-cluster is up to date" in clusters("import", "--in-cluster")  # every Pod start runs it
    assert rows() == [("in-cluster", "in-cluster", "", "")]


def test_it_refuses_in_cluster_outside_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(CommandError, match="not running in a Kubernetes Pod"):
        clusters("import", "--in-cluster")
    assert not Cluster.objects.exists()


def test_it_says_when_the_service_account_token_is_not_mounted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clusters_command, "SERVICE_ACCOUNT_DIR", tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(CommandError, match="automountServiceAccountToken"):
        clusters("import", "--in-cluster")


def test_it_lists_clusters_with_their_status(tmp_path: Path) -> None:
    assert "no clusters" in clusters("list")
    path = kubeconfig(tmp_path / "config", "staging", "prod", current="prod")
    clusters("import", "--kubeconfig", str(path), "--all")
    Cluster.objects.filter(name="staging").update(status="unreachable", status_message="connection refused")

    lines = clusters("list").splitlines()

    assert lines[0].split() == ["NAME", "CONNECTION", "CONTEXT", "ENABLED", "STATUS", "LAST", "SYNC"]
    assert lines[1].split() == ["prod", "kubeconfig", "prod", "yes", "pending", "-"]
    assert lines[2].split() == ["staging", "kubeconfig", "staging", "yes", "unreachable", "-"]
    assert lines[3] == "staging: connection refused"
