"""Settings read from the environment fail loudly on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import envbool, envint, envlist, envurl


def test_it_reads_booleans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "Yes")
    assert envbool("X_FLAG", "false") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert envbool("X_FLAG", "true") is False


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_it_rejects_bad_booleans(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("X_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        envbool("X_FLAG", "false")


def test_it_rejects_bad_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        envint("X_NUM", "1")
    monkeypatch.setenv("X_NUM", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        envint("X_NUM", "1", minimum=0)


def test_it_rejects_urls_of_the_wrong_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_URL", "mysql://db")
    with pytest.raises(ImproperlyConfigured, match="X_URL"):
        envurl("X_URL", "", schemes=("postgres",))


def test_it_splits_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert envlist("X_LIST", "") == ["a", "b", "c"]


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "PODIUM_DEV", "DATABASE_URL"}}
    return subprocess.run(
        [sys.executable, "-c", "import dashboard.settings"], env={**clean, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "sometimes", "SECRET_KEY": "x"}, "DEBUG must be one of"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "x", "DATABASE_URL": "mysql://nope"}, "DATABASE_URL must be a URL"),
        ({"SECRET_KEY": "x", "REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL"),
        ({"SECRET_KEY": "x", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
    ],
)
def test_it_refuses_to_start_with_a_bad_setting(env: dict[str, str], message: str) -> None:
    result = _settings_import(env)
    assert result.returncode != 0
    assert message in result.stderr
