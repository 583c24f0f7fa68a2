"""An editor changes a Deployment through the form: preview, apply, and a second session gets the conflict page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.edit import EditCluster, edit_url, settle

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _env_value_input(page: Page, var: str) -> object:
    row = page.locator("#containers-0-env tbody tr").filter(has=page.locator(f"input[value='{var}']"))
    return row.locator("input[name$='-value']")


def test_it_edits_image_and_env_previews_and_applies(
    page: Page, live_server: object, editor: User, deployment: str, edit_cluster: EditCluster
) -> None:
    before = edit_cluster.get("deployment", deployment)
    log_in(page, live_server.url, editor.username)
    page.goto(f"{live_server.url}{edit_url(deployment)}")
    expect(page.get_by_role("heading", name=deployment)).to_be_visible()
    expect(page.locator("#containers-0")).to_contain_text("Secret db-credentials / password")
    screenshot(page, "edit-form")

    page.fill("#id_containers-0-image", "nginx:1.27")
    _env_value_input(page, "MODE").fill("staging")
    page.get_by_role("button", name="Preview changes").click()

    rows = page.locator("#diff-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#diff-table")).to_contain_text("spec.template.spec.containers[app].image")
    expect(page.locator("#diff-table")).to_contain_text("spec.template.spec.containers[app].env[MODE].value")
    expect(page.locator("#rollout-note")).to_contain_text("starts a rollout")
    screenshot(page, "edit-preview")

    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{live_server.url}/c/demo/ns/default/deployment/{deployment}/")
    expect(page.locator(".messages")).to_contain_text("Applied")
    screenshot(page, "edit-applied")

    after = edit_cluster.get("deployment", deployment)
    expected = before["spec"]
    expected["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    expected["template"]["spec"]["containers"][0]["env"][0]["value"] = "staging"
    assert after["spec"] == expected
    assert after["metadata"]["labels"] == before["metadata"]["labels"]


def test_a_second_session_gets_the_conflict_page(
    browser: Browser, live_server: object, editor: User, deployment: str, edit_cluster: EditCluster
) -> None:
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        pages.append(context.new_page())
    first, second = pages
    for p in pages:
        log_in(p, live_server.url, editor.username)
        p.goto(f"{live_server.url}{edit_url(deployment)}")
    first.fill("#id_workload-replicas", "3")
    second.fill("#id_containers-0-image", "nginx:1.28")
    for p in pages:
        p.get_by_role("button", name="Preview changes").click()
        expect(p.locator("#diff-table")).to_be_visible()

    first.get_by_role("button", name="Apply").click()
    first.wait_for_url(f"{live_server.url}/c/demo/ns/default/deployment/{deployment}/")
    second.get_by_role("button", name="Apply").click()

    expect(second.locator("#conflict")).to_contain_text("Someone changed this workload")
    expect(second.locator("#diff-table")).to_contain_text("spec.replicas")
    screenshot(second, "edit-conflict")
    spec = edit_cluster.get("deployment", deployment)["spec"]
    assert spec["replicas"] == 3
    assert spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"

    second.get_by_role("button", name="Re-apply my changes on top").click()
    expect(second.locator("#diff-table tbody tr")).to_have_count(1)
    second.get_by_role("button", name="Apply").click()
    second.wait_for_url(f"{live_server.url}/c/demo/ns/default/deployment/{deployment}/")
    spec = edit_cluster.get("deployment", deployment)["spec"]
    assert spec["replicas"] == 3 and spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    settle(edit_cluster, deployment)
    for p in pages:
        p.context.close()
