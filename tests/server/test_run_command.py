"""The run command (`make run`): Ctrl-C stops every process it started, within a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.stack import ROOT, free_port, wait_for

STOP_WITHIN_SECONDS = 8  # the supervisor's own limit is 5 s, then SIGKILL


def descendants(pid: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_stops_every_process_of_the_run_within_a_few_seconds(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "DJANGO_"))}
    env.update(
        PODIUM_VAR_DIR=str(tmp_path),
        PODIUM_PORT=str(port),
        PODIUM_DEMOCLUSTER_PORT=str(free_port()),
        # A Redis that does not answer: the run starts its own (port 6390) and must stop it too.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PYTHONUNBUFFERED="1",
    )
    out = open(tmp_path / "run.out", "w+")  # noqa: SIM115 - closed below
    run = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def web_answers() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                assert run.poll() is None, (tmp_path / "run.out").read_text()
                return False

        wait_for(web_answers, timeout=90, what="the run command's web server")
        # Watchers are long-running tasks: a warm Celery shutdown would wait for them.
        wait_for(
            lambda: "workloads.tasks.watch_kind" in (tmp_path / "worker.log").read_text(errors="replace"),
            timeout=60,
            what="the Celery worker to run its watchers",
        )
        started = descendants(run.pid)
        names = {Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in started}
        parts = ["democluster", "celery -A dashboard worker", "celery -A dashboard beat", "uvicorn"]
        if "starting redis-server" in (tmp_path / "run.out").read_text():
            parts.append("redis-server")
        for part in parts:
            assert any(part in name for name in names), (part, names)

        run.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground command
        wait_for(lambda: run.poll() is not None, timeout=STOP_WITHIN_SECONDS, what="the run command to exit")
        wait_for(
            lambda: not [pid for pid in started if alive(pid)],
            timeout=1,
            what=f"every process of the run to be gone: {[p for p in started if alive(p)]}",
        )
        assert "==> stopping Podium" in (tmp_path / "run.out").read_text()
    finally:
        if run.poll() is None:
            run.kill()
        for pid in descendants(run.pid):
            os.kill(pid, signal.SIGKILL)
        out.close()


def test_the_democluster_token_is_made_once_for_its_owner_only(tmp_path: Path) -> None:
    from scripts.run import democluster_token

    previous = os.umask(0o022)
    try:
        token = democluster_token(tmp_path)
        first = token.read_text()
        assert token.stat().st_mode & 0o777 == 0o600 and len(first) >= 24
        token.chmod(0o644)  # as an earlier version left it
        assert democluster_token(tmp_path).read_text() == first
        assert token.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(previous)
