"""Finding or starting the services Podium needs on one machine (used by the run and test commands)."""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def apt_install(package: str, why: str) -> bool:
    """Install a Debian package when we may (root, apt-get present); False when we may not."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    say(f"==> {why}: installing Debian's {package} with apt-get")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", package],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return True


def wait_until(condition: Callable[[], bool], *, timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(failure)
        time.sleep(0.1)


def redis_server() -> str:
    server = shutil.which("redis-server")
    if server is None and apt_install("redis-server", "Redis does not answer and redis-server is not installed"):
        server = shutil.which("redis-server")
    if server is None:
        sys.exit(
            "Redis does not answer and redis-server is not installed.\n"
            "Install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_URL to a Redis that runs."
        )
    return server


def start_private_redis(directory: Path) -> str:
    """A redis-server of our own on a free loopback port, daemonized; its pid file is in ``directory``.
    Stop it with ``stop_private_redis(directory)``."""
    server = redis_server()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--daemonize", "yes", "--pidfile", str(directory / "redis.pid"), "--logfile", str(directory / "redis.log")]
    subprocess.run(args, check=True)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis_answers(url), timeout=10, failure=f"redis-server did not answer on port {port} in 10 s")
    return url


def stop_private_redis(directory: Path) -> None:
    stop_pid_file(directory / "redis.pid")


def stop_pid_file(pid_file: Path, timeout: float = 10) -> None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)


# --- PostgreSQL --------------------------------------------------------------------------------
# The test command's own cluster: initdb once under var/, started on a free loopback port for one
# run with trust authentication for the local user, and stopped at the end of that run.

POSTGRES_USER = "podium"


def postgres_bindir() -> Path | None:
    for candidate in [os.environ.get("PG_BINDIR", ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def ensure_postgres_installed() -> Path:
    bindir = postgres_bindir()
    if bindir is None and apt_install("postgresql", "the PostgreSQL tests need a PostgreSQL server"):
        bindir = postgres_bindir()
    if bindir is None:
        sys.exit(
            "The PostgreSQL half of the test suite needs PostgreSQL's server programs (initdb, pg_ctl).\n"
            "Install them (Debian/Ubuntu: sudo apt-get install postgresql), or set PODIUM_TEST_POSTGRES_URL\n"
            "to a PostgreSQL whose user may create databases (postgres://user@host:5432/podium)."
        )
    return bindir


def _as_server_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package made the 'postgres' user for it.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def postgres_data_dir() -> Path:
    """var/postgres, unless the server's user cannot reach var/ (a clone under /root): then a
    directory of our own in the system's temporary directory, one per clone."""
    wanted = VAR / "postgres"
    if os.geteuid() != 0:
        return wanted
    VAR.mkdir(parents=True, exist_ok=True)
    reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(VAR)]).returncode == 0
    if reachable:
        return wanted
    digest = hashlib.sha256(str(VAR.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"podium-postgres-{digest}"


def start_private_postgres() -> str:
    """Start the private cluster (initdb on first use) and return its URL."""
    bindir = ensure_postgres_installed()
    data = postgres_data_dir()
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        say(f"==> initdb: a private PostgreSQL cluster in {data}")
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    POSTGRES_USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{data}'"
    options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    subprocess.run(
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-o", options])
        + ["-w", "-t", "30", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    url = f"postgres://{POSTGRES_USER}@127.0.0.1:{port}/podium"
    _create_database(url)
    return url


def _create_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def stop_private_postgres() -> None:
    bindir = postgres_bindir()
    data = postgres_data_dir()
    if bindir is None or not (data / "postmaster.pid").exists():
        return
    subprocess.run(
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        stdout=subprocess.DEVNULL,
        check=False,
    )


def postgres_answers(url: str) -> bool:
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    try:
        psycopg.connect(admin, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


# --- the development settings that manage.py shares with the run command ----------------------


def write_dev_env(*, redis_url: str | None = None) -> Path:
    """var/dev.env: what makes this checkout a development one (read by dashboard/settings.py), so
    that `manage.py` in a new shell uses the same database, Redis and key as the run command.
    The key is made once and kept; a production machine has no such file and needs SECRET_KEY."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / "dev.env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip()
    values.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    values["PODIUM_DEV"] = "true"
    values["DEBUG"] = "true"
    if redis_url:
        values["REDIS_URL"] = redis_url
    header = "# Written by the run and test commands: this checkout's development settings. Not for production.\n"
    path.write_text(header + "".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return path


def ensure_redis() -> tuple[str, subprocess.Popen | None]:
    """For the run command: REDIS_URL's Redis (default the local one) when it answers, else a
    redis-server child of ours on port 6390, in its own session so that the supervisor stops it."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        return url, None
    private = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    if redis_answers(private):
        return private, None
    server = redis_server()
    args = [server, "--port", str(PRIVATE_REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    say(f"==> starting redis-server on 127.0.0.1:{PRIVATE_REDIS_PORT}")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
    wait_until(
        lambda: redis_answers(private),
        timeout=10,
        failure=f"redis-server did not answer on port {PRIVATE_REDIS_PORT} within 10 s",
    )
    return private, proc


def with_database(url: str, number: int) -> str:
    """The same Redis, another logical database: tests never touch a running Podium's queues."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        return url
    return parsed._replace(path=f"/{number}").geturl()


def main(argv: list[str]) -> None:
    """The test command's services, one verb each; URLs go to stdout, progress to stderr.

    redis-start DIR DB   REDIS_URL's Redis when it answers, else a private one (pid file in DIR)
    redis-stop DIR       stop that private Redis, if one was started
    postgres-start       the private PostgreSQL cluster under var/ (installed with apt when missing)
    postgres-stop        stop it
    postgres-check URL   exit 1 unless URL answers
    dev-env              write var/dev.env (development settings for manage.py)
    """
    verb, args = (argv[0], argv[1:]) if argv else ("", [])
    if verb == "redis-start":
        directory, number = Path(args[0]), int(args[1])
        url = os.environ.get("REDIS_URL", "")
        if url and redis_answers(url):
            print(f"{with_database(url, number)} (REDIS_URL)")
        else:
            print(f"{with_database(start_private_redis(directory), number)} (a private redis-server for this run)")
    elif verb == "redis-stop":
        stop_private_redis(Path(args[0]))
    elif verb == "postgres-start":
        print(start_private_postgres())
    elif verb == "postgres-stop":
        stop_private_postgres()
    elif verb == "postgres-check":
        sys.exit(0 if postgres_answers(args[0]) else 1)
    elif verb == "dev-env":
        write_dev_env()
    else:
        sys.exit(main.__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
