"""manage.py in a new shell: after the run or test command it uses the same development settings
(database, Redis, a key kept under var/); without them, and in production, it refuses to start
without a real SECRET_KEY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts import services
from tests.support.stack import ROOT


def manage(var: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """manage.py as a newcomer runs it: a new shell, none of Podium's variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "DJANGO_")) and k not in _OURS}
    env.update(PODIUM_VAR_DIR=str(var), **extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


_OURS = {"DEBUG", "SECRET_KEY", "REDIS_URL", "DATABASE_URL"}


def write_dev_env(var: Path, **kwargs: str) -> Path:
    previous = services.VAR
    services.VAR = var
    try:
        return services.write_dev_env(**kwargs)
    finally:
        services.VAR = previous


def test_it_refuses_to_start_without_a_secret_key_when_nothing_says_development(tmp_path: Path) -> None:
    result = manage(tmp_path, "clusters", "list")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_works_in_a_new_shell_after_the_run_command_with_its_redis_and_database(tmp_path: Path) -> None:
    write_dev_env(tmp_path, redis_url="redis://127.0.0.1:6390/0")

    assert manage(tmp_path, "migrate", "--no-input", "-v", "0").returncode == 0
    listed = manage(tmp_path, "clusters", "list")
    assert listed.returncode == 0, listed.stderr
    assert (tmp_path / "podium.sqlite3").exists()  # the run command's database, in its var/

    shown = manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.REDIS_URL, s.DEBUG, s.SECRET_KEY)",
    )
    redis_url, debug, key = shown.stdout.split()
    assert (redis_url, debug) == ("redis://127.0.0.1:6390/0", "True")
    assert len(key) >= 50 and "insecure" not in key


def test_it_creates_the_database_for_its_owner_only(tmp_path: Path) -> None:
    write_dev_env(tmp_path)
    (tmp_path / "old.sqlite3").write_text("")
    (tmp_path / "old.sqlite3").chmod(0o644)  # as an earlier version left it
    previous = os.umask(0o022)  # the usual one: new files 0644
    try:
        assert manage(tmp_path, "migrate", "--no-input", "-v", "0").returncode == 0
        old = manage(tmp_path, "check", DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
        assert old.returncode == 0, old.stderr
    finally:
        os.umask(previous)
    for path in [tmp_path / "podium.sqlite3", tmp_path / "old.sqlite3", *tmp_path.glob("podium.sqlite3-*")]:
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_the_development_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = write_dev_env(tmp_path).read_text()
    again = write_dev_env(tmp_path, redis_url="redis://127.0.0.1:6379/0").read_text()
    key = [line for line in first.splitlines() if line.startswith("SECRET_KEY=")]
    assert key and key == [line for line in again.splitlines() if line.startswith("SECRET_KEY=")]
    assert (tmp_path / "dev.env").stat().st_mode & 0o077 == 0  # the key is the checkout owner's only


def test_production_settings_win_over_the_development_file_and_need_their_own_key(tmp_path: Path) -> None:
    write_dev_env(tmp_path)
    refused = manage(tmp_path, "check", PODIUM_ENV_FILES="false")
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr

    key = "a-production-key-" + "x" * 40
    shown = manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)",
        DEBUG="false",
        SECRET_KEY=key,
    )
    assert shown.stdout.split() == ["False", key]
