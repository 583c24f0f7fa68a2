"""Every URL asks for a login, except the login page itself and the probes."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# The OpenID Connect sign-in's start and callback come before a login (404 while it is off); the language switcher
# works on the login page too: it only sets a cookie (a CSRF-protected POST).
PUBLIC = {"login/", "healthz", "readyz", "admin/login/", "oidc/authenticate/", "oidc/callback/", "i18n/setlang/"}


def _walk(patterns: list, prefix: str = "") -> list[str]:
    paths = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            paths += _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            paths.append(route)
    return paths


def _concrete(route: str) -> str:
    """Turn a route into a path: converters get a plausible value, regex admin routes a simple one."""
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<[^>]+>", "x", route)
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"\(\?P<[^>]+>[^)]*\)", "x", route)
    return "/" + route


def all_paths() -> list[str]:
    return sorted({_concrete(r) for r in _walk(get_resolver().url_patterns)})


@pytest.mark.django_db
@pytest.mark.parametrize("path", [p for p in all_paths() if p.lstrip("/") not in PUBLIC and "static" not in p])
def test_it_redirects_anonymous_users_to_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302, path
    assert "/login/" in response["Location"]


@pytest.mark.django_db
def test_it_serves_the_login_page_without_login(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Log in to Podium" in response.content


def test_it_covers_every_workloads_url() -> None:
    # The walk above must find the app's pages, or the test above proves nothing.
    assert "/" in all_paths()
