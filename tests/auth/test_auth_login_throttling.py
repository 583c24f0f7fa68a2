"""Login throttling (django-axes): wrong passwords lock one username out from one address for a while."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def log_in(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        response = log_in(client, username, "wrong")
        assert response.status_code == 200
        assert "Please try again" in response.content.decode()


def lock_out(client: Client, username: str) -> None:
    fail(client, username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, username, "wrong").status_code == 429


def test_it_locks_out_after_the_limit_and_refuses_the_right_password(viewer: User) -> None:
    client = Client()
    lock_out(client, viewer.username)
    response = log_in(client, viewer.username, PASSWORD)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text
    assert f"Logging in as {viewer.username} from this address failed {settings.AXES_FAILURE_LIMIT} times" in text
    assert "even with the right password" in text
    assert "Try again in 15 minutes" in text
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_it_does_not_lock_out_another_user(viewer: User, editor: User) -> None:
    client = Client()
    lock_out(client, viewer.username)
    assert log_in(client, viewer.username, PASSWORD).status_code == 429
    response = log_in(client, editor.username, PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_lets_the_right_password_in_before_the_limit_and_starts_counting_again(viewer: User) -> None:
    client = Client()
    fail(client, viewer.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, viewer.username, PASSWORD).status_code == 302
    client.post("/logout/")
    fail(client, viewer.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, viewer.username, PASSWORD).status_code == 302


def test_it_lifts_the_lock_after_the_cool_off(viewer: User) -> None:
    client = Client()
    lock_out(client, viewer.username)
    assert log_in(client, viewer.username, PASSWORD).status_code == 429
    # The cool-off has passed: the failures are older than it.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = log_in(client, viewer.username, PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_reads_the_limit_and_cool_off_from_the_environment() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
