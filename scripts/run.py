"""The run command: start Podium and everything it needs on this machine, in the foreground.

Redis (the one at REDIS_URL, else one we start), democluster, a Celery worker and beat, and the
ASGI server. Ctrl-C stops them all. A process that dies is restarted, with a growing pause.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from services import ROOT, VAR, ensure_redis, write_dev_env  # noqa: E402

from dashboard.env import load_env_file, private_file  # noqa: E402

PYTHON = sys.executable
# Celery's warm shutdown (SIGTERM) waits for running tasks, and a watcher runs for minutes: stop
# the worker cold (SIGQUIT). Its watchers' leases lapse and the next start takes them over.
STOP_SIGNALS = {"worker": signal.SIGQUIT}
STOP_SECONDS = 5


def democluster_token(var: Path) -> Path:
    """var/democluster.token, made once, for its owner's eyes only (it is the embedded cluster's credential)."""
    token_file = var / "democluster.token"
    new = not token_file.exists() or not token_file.read_text().strip()
    private_file(token_file)
    if new:
        token_file.write_text(secrets.token_urlsafe(24))
    return token_file


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


class Supervisor:
    def __init__(self) -> None:
        self.specs: dict[str, list[str]] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self.stopping = False

    def start(self, name: str, args: list[str]) -> None:
        self.specs[name] = args
        log = open(VAR / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.procs[name] = subprocess.Popen(
            args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def watch(self) -> None:
        while not self.stopping:
            for name, proc in list(self.procs.items()):
                code = proc.poll()
                if code is not None and not self.stopping:
                    count = self.restarts.get(name, 0) + 1
                    self.restarts[name] = count
                    pause = min(30, 2**count)
                    print(f"!! {name} exited with {code}; restarting in {pause} s (see var/{name}.log)", flush=True)
                    time.sleep(pause)
                    self.start(name, self.specs[name])
            time.sleep(0.5)

    def stop(self) -> None:
        """Every child runs in a session of its own: signal the whole group, so that what a child
        started goes too, and kill what is left after STOP_SECONDS."""
        self.stopping = True
        for name, proc in self.procs.items():
            self._signal(proc, STOP_SIGNALS.get(name, signal.SIGTERM))
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # The group may outlive its leader (a Celery pool thread's child): kill it either way.
            self._signal(proc, signal.SIGKILL)
            proc.wait()

    @staticmethod
    def _signal(proc: subprocess.Popen, signum: int) -> None:
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass


def main() -> None:
    load_env_file(ROOT / ".env")
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PODIUM_DEV", "true")
    os.environ.setdefault("DEBUG", "true")
    port = os.environ.get("PODIUM_PORT", "8000")
    democluster_port = os.environ.get("PODIUM_DEMOCLUSTER_PORT", "7443")

    supervisor = Supervisor()
    redis_url, redis_proc = ensure_redis()
    os.environ["REDIS_URL"] = redis_url
    # manage.py in another shell finds the same Redis, database and key through var/dev.env.
    write_dev_env(redis_url=redis_url)
    if redis_proc is not None:
        supervisor.procs["redis"] = redis_proc
        supervisor.specs["redis"] = list(redis_proc.args)

    manage("migrate", "--no-input", "-v", "0")
    token_file = democluster_token(VAR)
    kubeconfig = VAR / "democluster.kubeconfig"
    os.environ["PODIUM_DEMOCLUSTER_KUBECONFIG"] = str(kubeconfig)

    def shutdown(signum: int, frame: object) -> None:
        print("\n==> stopping Podium", flush=True)
        supervisor.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)

    kubeconfig.unlink(missing_ok=True)  # democluster writes it once it listens
    supervisor.start(
        "democluster",
        [
            PYTHON,
            "-m",
            "democluster",
            "--port",
            democluster_port,
            "--tls",
            "--token",
            token_file.read_text().strip(),
            "--write-kubeconfig",
            str(kubeconfig),
            "--snapshot",
            str(VAR / "democluster-snapshot.json"),
        ],
    )
    deadline = time.monotonic() + 30
    while not kubeconfig.exists():
        if time.monotonic() > deadline or supervisor.procs["democluster"].poll() is not None:
            supervisor.stop()
            sys.exit("democluster did not start: see var/democluster.log")
        time.sleep(0.1)
    manage("devsetup", "--kubeconfig", str(kubeconfig))

    supervisor.start(
        "worker",
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "dashboard",
            "worker",
            "-Q",
            "sync,celery",
            "-P",
            "threads",
            "-c",
            "40",
            "-l",
            "info",
            "-n",
            "podium-worker@%h",
        ],
    )
    supervisor.start(
        "beat",
        [PYTHON, "-m", "celery", "-A", "dashboard", "beat", "-l", "info", "-s", str(VAR / "celerybeat-schedule")],
    )
    supervisor.start(
        "web",
        [
            PYTHON,
            "-m",
            "uvicorn",
            "dashboard.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-access-log",
            "--ws",
            "websockets",
        ],
    )
    print(f"==> Podium is starting at http://127.0.0.1:{port}/", flush=True)
    print(f"    Log in as: {(VAR / 'dev-admin.txt').read_text().strip()}", flush=True)
    print("    Logs: var/*.log   Stop: Ctrl-C", flush=True)
    supervisor.watch()


if __name__ == "__main__":
    main()
