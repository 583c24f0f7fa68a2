"""Several democlusters as a person's ~/.kube/config has them, and the deploy manifests.

``start_democluster(*extra, token=TOKEN)`` (tests/conftest.py) starts one; one more token may be limited to some
resources with ``"--token", "TOKEN:res1,res2"``. ``write_kubeconfig`` merges several of them into one kubeconfig with
a context per (cluster, token).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.stack import ROOT, Democluster

REPO = ROOT
TOKEN = "podium-test-token"
LIMITED_TOKEN = "podium-limited-token"


def write_kubeconfig(path: Path, contexts: dict[str, tuple[Democluster, str]], *, current: str = "") -> Path:
    """A kubeconfig with one context per entry ``name: (democluster, token)``, each with its own
    cluster (server + CA) and user (bearer token) entries, like a merged ~/.kube/config."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [],
        "users": [],
        "contexts": [],
        "current-context": current or next(iter(contexts)),
    }
    for name, (democluster, token) in contexts.items():
        cluster = {"server": democluster.url, "certificate-authority-data": democluster.ca_data}
        config["clusters"].append({"name": f"{name}-cluster", "cluster": cluster})
        config["users"].append({"name": f"{name}-user", "user": {"token": token}})
        context = {"cluster": f"{name}-cluster", "user": f"{name}-user", "namespace": "default"}
        config["contexts"].append({"name": name, "context": context})
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


DEPLOY = REPO / "deploy"


def deploy_manifests() -> list[dict[str, Any]]:
    """Every document of deploy/kubernetes/*.yaml, in the order `kubectl apply -f deploy/kubernetes/` reads them."""
    documents = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def deploy_manifest(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in deploy_manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found
