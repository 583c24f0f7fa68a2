"""In the browser, as alice on a cluster that acts as her (see tests/support/impersonation.py): scale of a
StatefulSet is disabled with the reason, an edit in imp-shop is applied as her (the API server's audit log says
so), and imp-demo is not listed anywhere and is a 404. On democluster and the real control plane."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.impersonation import ALICE, HIDDEN, SHOP, Target, impersonated
from tests.support.stack import wait_for
from workloads.models import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_alice_sees_and_does_what_the_cluster_lets_her(
    page: Page, live_server: object, imp_target: Target, imp_cluster: Cluster, alice: object
) -> None:
    base = live_server.url
    log_in(page, base, "alice")

    expect(page.locator("main")).to_contain_text(SHOP)
    expect(page.locator("main")).not_to_contain_text(HIDDEN)
    page.goto(f"{base}/c/demo/workloads/")
    expect(page.locator("main")).to_contain_text("web")
    expect(page.locator("main")).not_to_contain_text("secret-web")
    assert page.goto(f"{base}/c/demo/ns/{HIDDEN}/").status == 404

    page.goto(f"{base}/c/demo/ns/{SHOP}/statefulset/db/")
    scale = page.locator(".rollout-actions").get_by_role("button", name="Scale")
    expect(scale).to_be_disabled()
    reason = f"alice (groups: dev, editor) may not patch statefulsets/scale in {SHOP}"
    expect(page.locator(".rollout-actions")).to_contain_text(reason)
    screenshot(page, "impersonation-scale-disabled")

    assert edit_image_as_seen_by_the_cluster(page, base, imp_target, "nginx:1.29") == ALICE


def edit_image_as_seen_by_the_cluster(page: Page, base: str, target: Target, image: str) -> tuple[str, tuple[str, ...]]:
    """Edit imp-shop's web to ``image`` through the form; the cluster has it, and its audit log says whom Podium
    acted as (returned)."""
    page.goto(f"{base}/c/demo/ns/{SHOP}/deployment/web/edit/")
    page.fill("#id_containers-0-image", image)
    page.get_by_role("button", name="Preview changes").click()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{base}/c/demo/ns/{SHOP}/deployment/web/")
    expect(page.locator(".messages")).to_contain_text("Applied")
    deployment = target.cluster.get_json("deployment", "web", "-n", SHOP)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    applied = wait_for(lambda: [e for e in target.audited("patch", "web") if e["responseStatus"]["code"] == 200])
    return impersonated(applied[-1])
