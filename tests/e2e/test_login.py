"""A person opens Podium, is sent to the login page, logs in and sees the dashboard."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from workloads.models import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_logs_in_and_shows_the_dashboard(page: Page, live_server: object, viewer: User) -> None:
    Cluster.objects.create(name="demo", status=Cluster.Status.CONNECTED)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    screenshot(page, "login")
    log_in(page, live_server.url, viewer.username)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("region", name="Clusters").get_by_role("table")).to_contain_text("demo")
    expect(page.locator(".user")).to_have_text(viewer.username)
    screenshot(page, "overview-empty")


def test_it_refuses_a_wrong_password(page: Page, live_server: object, viewer: User) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", viewer.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("didn't match")
    expect(page).to_have_url(f"{live_server.url}/login/")
