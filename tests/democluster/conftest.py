"""A democluster subprocess per test session (TLS + bearer token), with kubectl and python-client helpers.

``democluster`` is a shared fast cluster without the scenario; ``start_democluster(*args)`` starts another
one with extra CLI arguments (stopped at the end of the session).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
TOKEN = "democluster-test-token"
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, message: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)


@dataclass
class Democluster:
    url: str
    kubeconfig: Path
    token: str
    ca_file: Path
    home: Path
    process: subprocess.Popen
    log: Path
    extra_tokens: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(KUBECONFIG=str(self.kubeconfig), HOME=str(self.home))
        return env

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster; its discovery cache lives in a temp directory."""
        result = subprocess.run(
            [KUBECTL, "--cache-dir", str(self.home / "cache"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def kubectl_popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [KUBECTL, "--cache-dir", str(self.home / "cache"), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def api_client(self, token: str | None = None) -> Any:
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        configuration.ssl_ca_cert = str(self.ca_file)
        configuration.api_key = {"authorization": f"Bearer {token or self.token}"}
        return client.ApiClient(configuration)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        stream: bool = False,
        timeout: float = 30,
    ) -> requests.Response:
        """A raw HTTP request, for what the client libraries will not send (bad JSON, huge bodies)."""
        all_headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        return requests.request(
            method,
            self.url + path,
            json=body,
            data=data,
            headers=all_headers,
            verify=str(self.ca_file),
            stream=stream,
            timeout=timeout,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch(tmp: Path, *args: str) -> Democluster:
    tmp.mkdir(parents=True, exist_ok=True)
    kubeconfig = tmp / "kubeconfig"
    log = tmp / "democluster.log"
    command = [
        sys.executable,
        "-m",
        "democluster",
        "--port",
        "0",
        "--tls",
        "--token",
        TOKEN,
        "--write-kubeconfig",
        str(kubeconfig),
        *args,
    ]
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def listening() -> str | None:
        if process.poll() is not None:
            pytest.fail(f"democluster exited with {process.returncode}:\n{log.read_text()}")
        for line in log.read_text().splitlines():
            if line.startswith("democluster listening on "):
                return line.split()[-1]
        return None

    url = wait_for(listening, timeout=60, message="democluster to listen")
    config = yaml.safe_load(kubeconfig.read_text())
    ca_file = tmp / "ca.crt"
    ca_file.write_bytes(base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]))
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    extra = [a.split(":")[0] for i, a in enumerate(args) if i > 0 and args[i - 1] == "--token"]
    return Democluster(url, kubeconfig, TOKEN, ca_file, home, process, log, extra)


@pytest.fixture(scope="session")
def start_democluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Democluster]]:
    started: list[Democluster] = []

    def start(*args: str) -> Democluster:
        cluster = launch(tmp_path_factory.mktemp("democluster"), *args)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture(scope="session")
def democluster(start_democluster: Callable[..., Democluster]) -> Democluster:
    return start_democluster("--fresh", "--fast", "--no-scenario", "--token", "limited-token:pods,deployments")
