"""Podium in a process with only what a production Pod has (tests/deploy, tests/server)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.support.stack import ROOT


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Only what a production Pod has: nothing from the developer's shell (no PODIUM_DEV, no DEBUG)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PODIUM_VAR_DIR": str(tmp_path / "var")}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="podium.example.com",
        CSRF_TRUSTED_ORIGINS="https://podium.example.com",
        SECURE_SSL_REDIRECT="true",
        SECURE_COOKIES="true",
        SECURE_HSTS_SECONDS="31536000",
        BEHIND_TLS_PROXY="true",
        DATABASE_URL="postgres://podium:secret@postgres.example.internal:5432/podium",
        REDIS_URL="redis://redis.example.internal:6379/0",
    )
    env.update(overrides)
    return env


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
