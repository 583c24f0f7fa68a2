"""Every response carries a Content-Security-Policy without inline or eval'd script; HSTS asks for preloading only
when SECURE_HSTS_PRELOAD says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.support.production import production_env, run_python

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("path", ["/login/", "/", "/audit/", "/healthz"])
def test_every_page_has_a_policy_without_inline_script(viewer_client: Client, path: str) -> None:
    directives = policy(viewer_client.get(path))
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    for values in directives.values():
        assert "'unsafe-inline'" not in values and "'unsafe-eval'" not in values


def test_pages_hold_no_inline_handlers_or_style_attributes(viewer_client: Client) -> None:
    html = viewer_client.get("/").content.decode()
    assert "onchange=" not in html and "style=" not in html
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, "allowEval": false}\'>' in html


HSTS = """
import django, os
django.setup()
from django.test import Client
r = Client().get("/healthz", secure=True, HTTP_HOST="podium.example.com")
print(r.headers.get("Strict-Transport-Security"))
"""


def _hsts(tmp_path: Path, **env: str) -> str:
    result = run_python(HSTS, production_env(tmp_path, DJANGO_SETTINGS_MODULE="dashboard.settings", **env))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_hsts_asks_for_preloading_only_when_told(tmp_path: Path) -> None:
    assert _hsts(tmp_path) == "max-age=31536000; includeSubDomains"
    assert _hsts(tmp_path, SECURE_HSTS_PRELOAD="true") == "max-age=31536000; includeSubDomains; preload"


def test_preloading_a_short_hsts_is_refused(tmp_path: Path) -> None:
    result = run_python(
        HSTS,
        production_env(
            tmp_path, DJANGO_SETTINGS_MODULE="dashboard.settings", SECURE_HSTS_SECONDS="600", SECURE_HSTS_PRELOAD="true"
        ),
    )
    assert result.returncode != 0
    assert "SECURE_HSTS_PRELOAD needs SECURE_HSTS_SECONDS of at least 31536000" in result.stderr
