"""What the benchmarks share: a directory and a Redis of their own, made before Django reads its settings; the
worker's CPU time; a page's element count."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import services  # noqa: E402 - scripts/ is on the path from here

TICKS = os.sysconf("SC_CLK_TCK")


def prepare(prefix: str) -> Path:
    """A temporary PODIUM_VAR_DIR (a fresh SQLite database, unless DATABASE_URL names PostgreSQL) and a private
    redis-server for this run, then Django set up on them. Stop the Redis with ``finish``."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(PODIUM_VAR_DIR=str(tmp), PODIUM_ENV_FILES="off", PODIUM_DEV="true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ["REDIS_URL"] = services.start_private_redis(tmp / "redis").replace("/0", "/1")
    django.setup()
    return tmp


def finish(tmp: Path) -> None:
    """Stop the run's Redis and remove its directory (the database, the worker's log)."""
    services.stop_private_redis(tmp / "redis")
    shutil.rmtree(tmp, ignore_errors=True)


def _stat_cpu(stat: Path) -> float:
    """User + system CPU seconds from a /proc stat file (a process's or one of its threads')."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    return _stat_cpu(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """{thread id: its user + system CPU seconds} of a process, from /proc."""
    used = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used[int(task.name)] = _stat_cpu(task / "stat")
        except OSError:  # the thread ended
            continue
    return used


def synced(cluster: object, pods: int) -> bool:
    """Every watched kind listed once, and every Pod in the mirror."""
    from workloads.kinds import SYNC_KINDS  # only once Django is set up
    from workloads.models import Pod, SyncState

    states = SyncState.objects.filter(cluster=cluster, last_synced_at__isnull=False).count()
    return states == len(SYNC_KINDS) and Pod.objects.live().filter(cluster=cluster).count() >= pods


class _ElementCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements += 1

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.elements += 1


def dom_nodes(html: str) -> int:
    """How many elements a page's HTML makes (the pages' goal is at most 1,500)."""
    counter = _ElementCounter()
    counter.feed(html)
    return counter.elements
