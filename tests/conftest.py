"""Fixtures shared by every test: users with obvious roles, and a logged-in client for each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from realcluster.cluster import RealCluster
from tests.support.oidc import OidcProvider


def _user(name: str, role: str | None) -> User:
    user = User.objects.create_user(name, f"{name}@example.com", "correct horse battery staple")
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db: None) -> User:
    return _user("vera-viewer", "viewer")


@pytest.fixture
def editor(db: None) -> User:
    return _user("eddie-editor", "editor")


@pytest.fixture
def admin_user(db: None) -> User:
    return _user("ada-admin", "admin")


@pytest.fixture
def outsider(db: None) -> User:
    """Logged in, but holds no role."""
    return _user("olly-outsider", None)


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    return _client_for(viewer)


@pytest.fixture
def editor_client(editor: User) -> Client:
    return _client_for(editor)


@pytest.fixture
def admin_client_(admin_user: User) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return _client_for(outsider)


@pytest.fixture(scope="session")
def real_kubernetes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """The real control plane (kube-apiserver, controller manager, scheduler, etcd, kwok nodes),
    one per test session, started on first use. Tests that share it work in namespaces or names of
    their own."""
    cluster = RealCluster.start(tmp_path_factory.mktemp("realcluster"))
    yield cluster
    cluster.stop()


@pytest.fixture
def oidc_provider(tmp_path: Path) -> Iterator[Callable[..., OidcProvider]]:
    """Starts a real OpenID provider (tests/support/oidc.py) for a Podium at a URL, with accounts and options."""
    started: list[OidcProvider] = []

    def start(podium_url: str, accounts: dict[str, dict[str, Any]], **options: Any) -> OidcProvider:
        folder = tmp_path / f"oidc-provider-{len(started)}"
        folder.mkdir()
        provider = OidcProvider(folder, podium_url, accounts, **options)
        started.append(provider)
        return provider.start()

    yield start
    for provider in started:
        provider.stop()
