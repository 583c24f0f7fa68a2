"""The whole way through: alice signs in with OpenID Connect at a real provider (oidc-provider on loopback), her
provider group ``dev`` maps to Podium's editor role, and the cluster, acting as her (``Impersonate-Group: dev``),
lets her read ``imp-shop`` and patch its Deployments but nothing in ``imp-demo`` (tests/support/impersonation.py).
On democluster and the real control plane, checked in the API server's audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_impersonation import edit_image_as_seen_by_the_cluster
from tests.support.impersonation import HIDDEN, SHOP, Target
from tests.support.oidc import OidcProvider, podium_settings
from workloads.models import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALICE = {"preferred_username": "alice", "email": "alice@example.com", "name": "Alice", "groups": ["dev"]}


def test_a_person_signed_in_at_the_provider_acts_on_the_cluster_as_their_provider_groups(
    page: Page,
    live_server: object,
    settings: object,
    oidc_provider: Callable[..., OidcProvider],
    imp_target: Target,
    imp_cluster: Cluster,
) -> None:
    base = live_server.url
    provider = oidc_provider(base, {"alice": dict(ALICE)})
    podium_settings(settings, provider, role_map={"dev": ("editor",)})
    page.goto(f"{base}/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "whatever the provider asks")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    expect(page.locator(".user")).to_have_text("alice")

    # What she sees: imp-shop, never imp-demo (the cluster lets the group dev list nothing there).
    expect(page.locator("main")).to_contain_text(SHOP)
    expect(page.locator("main")).not_to_contain_text(HIDDEN)
    page.goto(f"{base}/c/demo/workloads/")  # the header's namespace picker lists the current cluster's
    expect(page.locator(".pickers select[name=namespace] option", has_text=SHOP)).to_have_count(1)
    expect(page.locator(".pickers select[name=namespace] option", has_text=HIDDEN)).to_have_count(0)
    assert page.goto(f"{base}/c/demo/ns/{HIDDEN}/").status == 404
    assert page.goto(f"{base}/c/demo/ns/{HIDDEN}/deployment/secret-web/").status == 404

    # What she may do: the cluster sees her provider group, not Podium's role names.
    page.goto(f"{base}/c/demo/ns/{SHOP}/statefulset/db/")
    expect(page.locator(".rollout-actions").get_by_role("button", name="Scale")).to_be_disabled()
    expect(page.locator(".rollout-actions")).to_contain_text(
        f"alice (groups: dev) may not patch statefulsets/scale in {SHOP}"
    )
    screenshot(page, "oidc-person-scale-disabled")
    assert edit_image_as_seen_by_the_cluster(page, base, imp_target, "nginx:1.28") == (
        "alice",
        ("dev", "system:authenticated"),
    )
