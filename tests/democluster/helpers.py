"""The democluster the simulator's tests speak to, manifests and small helpers shared by them."""

from __future__ import annotations

import base64
import queue
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from kubernetes import client

from tests.support import stack

TOKEN = "democluster-test-token"


class Democluster(stack.Democluster):
    """The one launcher's democluster (tests/support/stack.py), as the simulator's tests speak to it: kubectl's
    whole result (exit code and stderr too), a kubectl that keeps running, the official client, raw HTTP."""

    def __init__(self, tmp: Path, *extra: str, name: str = "democluster") -> None:
        super().__init__(tmp, *extra, name=name, token=TOKEN)
        self.home = tmp / "home"
        self.home.mkdir(exist_ok=True)

    @property
    def ca_file(self) -> Path:
        path = self.log_dir / f"{self.name}.ca.crt"
        if not path.exists():
            path.write_bytes(base64.b64decode(self.ca_data))
        return path

    def kubectl(  # type: ignore[override] - the whole result, as realcluster's kubectl gives
        self, *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster; its discovery cache lives in a temp directory."""
        return stack.kubectl(self.kubeconfig, self.home / "cache", *args, input=input, check=check, timeout=timeout)

    def kubectl_popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            stack.kubectl_command(self.kubeconfig, self.home / "cache", *args),
            env=stack.kubectl_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def api_client(self, token: str | None = None) -> Any:
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


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pod_manifest(name: str, image: str = "nginx:1.25", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


def deployment_manifest(name: str, replicas: int = 1, images: tuple[str, ...] = ("nginx:1.25",)) -> dict[str, Any]:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
    }


class LineReader:
    """Collect a subprocess's stdout lines on a thread, so a test can wait for one with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line_with(self, text: str, timeout: float = 15.0) -> str:
        """The next line that contains ``text`` (lines before it are passed over), within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line containing {text!r} within {timeout}s; saw {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
