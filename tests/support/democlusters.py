"""democluster subprocesses for the real-cluster tests: TLS, bearer tokens, and a kubeconfig of our own.

``start_democluster(*tokens)`` starts one (``--tls --token ...``, one token may be limited to some
resources with ``TOKEN:res1,res2``) and stops it when the test ends. ``write_kubeconfig`` merges several of
them into one kubeconfig with a context per (cluster, token), as a user's ~/.kube/config would have.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
TOKEN = "podium-test-token"
LIMITED_TOKEN = "podium-limited-token"


def wait_for(condition: Callable[[], Any], *, timeout: float = 10.0, message: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(0.05)


@dataclass
class RunningDemocluster:
    server: str  # https://127.0.0.1:PORT
    ca_data: str  # base64 PEM, as kubeconfig's certificate-authority-data
    kubeconfig: Path  # the one democluster wrote (its first token)
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch_democluster(directory: Path, *tokens: str) -> RunningDemocluster:
    directory.mkdir(parents=True, exist_ok=True)
    kubeconfig, log = directory / "kubeconfig", directory / "democluster.log"
    token_args = [arg for token in tokens or (TOKEN,) for arg in ("--token", token)]
    command = [sys.executable, "-m", "democluster", "--port", "0", "--tls", *token_args]
    command += ["--write-kubeconfig", str(kubeconfig), "--fresh", "--fast", "--no-scenario"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def listening() -> str | None:
        if process.poll() is not None:
            pytest.fail(f"democluster exited with {process.returncode}:\n{log.read_text()}")
        for line in log.read_text().splitlines():
            if line.startswith("democluster listening on ") and kubeconfig.exists():
                return line.split()[-1]
        return None

    server = wait_for(listening, timeout=30, message="democluster to listen")
    written = wait_for(lambda: yaml.safe_load(kubeconfig.read_text()), timeout=5, message="its kubeconfig")
    ca_data = written["clusters"][0]["cluster"]["certificate-authority-data"]
    return RunningDemocluster(server, ca_data, kubeconfig, process, log)


@pytest.fixture
def start_democluster(tmp_path: Path) -> Iterator[Callable[..., RunningDemocluster]]:
    """A factory: ``start_democluster(TOKEN, f"{LIMITED_TOKEN}:pods")``; each is stopped after the test."""
    started: list[RunningDemocluster] = []

    def start(*tokens: str) -> RunningDemocluster:
        cluster = launch_democluster(tmp_path / f"democluster-{len(started)}", *tokens)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def write_kubeconfig(path: Path, contexts: dict[str, tuple[RunningDemocluster, str]], *, current: str = "") -> Path:
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
        cluster = {"server": democluster.server, "certificate-authority-data": democluster.ca_data}
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
