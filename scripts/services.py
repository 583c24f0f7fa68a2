"""Finding or starting the services Podium needs on one machine (used by the run and test commands)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("PODIUM_VAR_DIR", ROOT / "var"))
PRIVATE_REDIS_PORT = 6390


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except Exception:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_redis(*, supervised: bool) -> tuple[str, subprocess.Popen | None]:
    """Return a Redis URL that answers: REDIS_URL's, else a redis-server we start on a private port.

    With ``supervised`` the server is our child (stopped with us); otherwise it is daemonized so
    that it outlives this script (the test command's pytest run uses it).
    """
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        return url, None
    private = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    if redis_answers(private):
        return private, None
    server = shutil.which("redis-server")
    if server is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print(
            "==> Redis does not answer and redis-server is not installed: installing it with apt-get",
            file=sys.stderr,
            flush=True,
        )
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "redis-server"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        server = shutil.which("redis-server")
    if server is None:
        sys.exit(
            f"Redis does not answer at {url} and redis-server is not installed.\n"
            "Install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_URL to a Redis that runs."
        )
    VAR.mkdir(parents=True, exist_ok=True)
    args = [server, "--port", str(PRIVATE_REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    print(f"==> starting redis-server on 127.0.0.1:{PRIVATE_REDIS_PORT}", file=sys.stderr, flush=True)
    proc = None
    if supervised:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    else:
        subprocess.run([*args, "--daemonize", "yes", "--logfile", str(VAR / "redis.log")], check=True)
    deadline = time.monotonic() + 10
    while not redis_answers(private):
        if time.monotonic() > deadline:
            sys.exit(f"redis-server did not answer on port {PRIVATE_REDIS_PORT} within 10 s")
        time.sleep(0.1)
    return private, proc


def with_database(url: str, number: int) -> str:
    """The same Redis, another logical database: tests never touch a running Podium's queues."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        return url
    return parsed._replace(path=f"/{number}").geturl()


if __name__ == "__main__":
    # `python scripts/services.py redis [DB]` prints a Redis URL that answers, starting one if needed.
    if sys.argv[1:2] == ["redis"]:
        url = ensure_redis(supervised=False)[0]
        print(with_database(url, int(sys.argv[2])) if len(sys.argv) > 2 else url)
