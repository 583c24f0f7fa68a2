"""Real processes for full-stack tests: democluster, a Celery worker (with beat), the ASGI server.

Each is a subprocess on a free port, waited for by a condition with a timeout, and stopped at
the end. Nothing here is mocked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll until ``condition()`` is truthy; return its value, or fail saying what never happened.

    The one wait of the tests. An AssertionError from ``condition`` counts as "not yet" (the last one is chained to
    the failure); to stop waiting at once (a process that exited), call ``pytest.fail`` in it."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except AssertionError as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}") from last_error


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KUBECTL = os.environ.get("KUBECTL", "kubectl")


def kubectl_env() -> dict[str, str]:
    """The environment kubectl runs in: none of the caller's KUBE* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}


def kubectl_command(kubeconfig: Path, cache: Path, *args: str) -> list[str]:
    return [KUBECTL, f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}", *args]


def kubectl(
    kubeconfig: Path, cache: Path, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real kubectl with exactly this kubeconfig and discovery cache; with ``check``, a failure fails the test."""
    result = subprocess.run(
        kubectl_command(kubeconfig, cache, *args),
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        env=kubectl_env(),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


class Process:
    def __init__(self, name: str, args: list[str], *, env: dict[str, str] | None = None, log_dir: Path) -> None:
        self.name, self.args, self.env, self.log_dir = name, args, env, log_dir
        self.proc: subprocess.Popen | None = None
        self.log_path = log_dir / f"{name}.log"

    def start(self) -> Process:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


class Democluster(Process):
    """The one democluster launcher: ``python -m democluster`` with TLS and a token (``token``, written into its
    kubeconfig; more with ``"--token", "TOKEN:res1,res2"`` in ``extra``), on 127.0.0.1. ``stop``/``start`` again
    keeps its state (its snapshot), as a real API server keeps etcd's."""

    flavor = "democluster"

    def __init__(
        self, tmp: Path, *extra: str, name: str = "democluster", port: int | None = None, token: str = ""
    ) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = tmp / f"{name}.kubeconfig"
        self.snapshot = tmp / f"{name}.snapshot.json"
        self.token = token or "test-token-" + name
        self.port = port or free_port()
        args = [
            sys.executable, "-m", "democluster",
            "--port", str(self.port), "--tls", "--token", self.token,
            "--write-kubeconfig", str(self.kubeconfig), "--snapshot", str(self.snapshot), "--fast",
            *extra,
        ]  # fmt: skip
        super().__init__(name, args, log_dir=tmp)
        self.url = f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Democluster:
        """Start it and wait until it listens (a scale mode of 150k Pods takes longer to build than ``timeout``'s
        default)."""
        if self.proc is not None:  # a restart: come back with the saved state
            self.args = [a for a in self.args if a != "--fresh"]
        self.kubeconfig.unlink(missing_ok=True)
        super().start()

        def listening() -> bool:
            if not self.alive():
                pytest.fail(f"democluster exited with {self.proc.returncode}:\n{self.log()}")
            return "listening on" in self.log() and self.kubeconfig.exists() and self.kubeconfig.stat().st_size > 0

        wait_for(listening, timeout=timeout, what="democluster to listen")
        return self

    @property
    def ca_data(self) -> str:
        """Its CA certificate, base64 PEM, as a kubeconfig's certificate-authority-data."""
        return yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]["certificate-authority-data"]

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> str:
        cache = self.log_dir / "kubecache"
        return kubectl(self.kubeconfig, cache, *args, input=input, check=check, timeout=timeout).stdout

    def get_json(self, *args: str) -> dict:
        return orjson.loads(self.kubectl("get", *args, "-o", "json"))

    def compact(self) -> None:
        """Forget the event history: a watch from any resourceVersion before now answers 410."""
        import ssl
        import urllib.request

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(f"{self.url}/democluster/compact", method="POST")
        assert urllib.request.urlopen(request, context=context, timeout=5).status == 200


def test_environment(**extra: str) -> dict[str, str]:
    """The environment a child Podium process needs to share this test run's database and Redis."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
        )
    env["REDIS_URL"] = settings.REDIS_URL
    env["PODIUM_DEV"] = "true"
    env["PODIUM_ENSURE_WATCHERS_SECONDS"] = "1"
    env.update(extra)
    return env


class CeleryWorker(Process):
    def __init__(self, tmp: Path, name: str = "worker", *, beat: bool = True, **env: str) -> None:
        args = [
            sys.executable, "-m", "celery", "-A", "dashboard", "worker",
            "-Q", "sync,celery", "-P", "threads", "-c", "40", "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
        ]  # fmt: skip
        if beat:
            args += ["-B", "-s", str(tmp / f"{name}-beat-schedule")]
        super().__init__(name, args, env=test_environment(**env), log_dir=tmp)

    def start(self) -> CeleryWorker:
        super().start()
        wait_for(lambda: "ready." in self.log() or not self.alive(), timeout=30, what="celery worker ready")
        assert self.alive(), self.log()[-3000:]
        return self


class AsgiServer(Process):
    def __init__(self, tmp: Path, *, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        args = [
            sys.executable, "-m", "uvicorn", "dashboard.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--ws", "websockets", "--no-access-log",
        ]  # fmt: skip
        super().__init__("asgi", args, env=test_environment(**env), log_dir=tmp)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> AsgiServer:
        import urllib.request

        super().start()

        def up() -> bool:
            try:
                return urllib.request.urlopen(f"{self.url}/healthz", timeout=1).status == 200
            except OSError:
                return False

        wait_for(up, timeout=30, what="ASGI server")
        return self
