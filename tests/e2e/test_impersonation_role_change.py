"""A Role change on the cluster reaches alice's pages within Podium's access cache time, without a new sign-in: a
cluster admin removes the RoleBinding that lets the group dev read imp-shop (real kubectl), and imp-shop leaves
the overview and the picker and its URLs become 404; a binding granted in imp-demo brings that namespace, and
the Edit action on its Deployment, in. On democluster and the real control plane (tests/support/impersonation.py)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.impersonation import HIDDEN, SHOP, Target
from tests.support.stack import wait_for
from workloads.models import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CACHE_SECONDS = 3
# The cache time, and what a loaded two-core machine may add to a page load and an RBAC change on top of it.
WITHIN = CACHE_SECONDS + 12

READ_HIDDEN = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: dev, namespace: {HIDDEN}}}
rules:
- {{apiGroups: [apps], resources: [deployments, replicasets], verbs: [get, list, watch]}}
- {{apiGroups: [apps], resources: [deployments], verbs: [patch]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dev, namespace: {HIDDEN}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}}]
"""
SHOP_BINDING = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dev, namespace: {SHOP}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}}]
"""


def picker(page: Page, namespace: str) -> object:
    """The header's namespace picker's option for ``namespace``."""
    return page.locator(".pickers select[name=namespace] option", has_text=namespace)


def overview_lists(page: Page, base: str, namespace: str) -> bool:
    page.goto(f"{base}/")
    return namespace in page.locator("main").inner_text()


def test_a_role_change_reaches_the_pages_within_the_cache_time(
    page: Page, live_server: object, settings: object, imp_target: Target, imp_cluster: Cluster, alice: object
) -> None:
    settings.PODIUM_ACCESS_CACHE_SECONDS = CACHE_SECONDS
    base = live_server.url
    log_in(page, base, "alice")  # the only sign-in
    expect(page.locator("main")).to_contain_text(SHOP)
    page.goto(f"{base}/c/demo/workloads/")
    expect(picker(page, SHOP)).to_have_count(1)
    expect(picker(page, HIDDEN)).to_have_count(0)
    assert page.goto(f"{base}/c/demo/ns/{SHOP}/").status == 200

    try:
        imp_target.cluster.kubectl("delete", "rolebinding", "dev", "-n", SHOP)
        removed = time.monotonic()
        wait_for(lambda: not overview_lists(page, base, SHOP), timeout=WITHIN, what=f"{SHOP} to leave the overview")
        took = time.monotonic() - removed
        expect(page.locator("main")).to_contain_text("lets alice (groups: dev, editor) list nothing")
        assert page.goto(f"{base}/c/demo/ns/{SHOP}/").status == 404
        assert page.goto(f"{base}/c/demo/ns/{SHOP}/deployment/web/").status == 404
        page.goto(f"{base}/c/demo/workloads/")
        expect(picker(page, SHOP)).to_have_count(0)
        expect(page.locator("main")).not_to_contain_text(SHOP)
        screenshot(page, "role-change-binding-removed")
        assert took <= WITHIN, f"{SHOP} stayed {took:.1f} s"

        imp_target.cluster.kubectl("apply", "-f", "-", input=READ_HIDDEN)
        wait_for(lambda: overview_lists(page, base, HIDDEN), timeout=WITHIN, what=f"{HIDDEN} to appear")
        page.goto(f"{base}/c/demo/workloads/")
        expect(picker(page, HIDDEN)).to_have_count(1)
        expect(page.locator("main")).to_contain_text("secret-web")
        assert page.goto(f"{base}/c/demo/ns/{HIDDEN}/deployment/secret-web/").status == 200
        edit = page.locator("main").get_by_role("link", name="Edit", exact=True)
        expect(edit).to_have_attribute("href", f"/c/demo/ns/{HIDDEN}/deployment/secret-web/edit/")
        screenshot(page, "role-change-binding-granted")
    finally:
        imp_target.cluster.kubectl("apply", "-f", "-", input=SHOP_BINDING)
        imp_target.cluster.kubectl("delete", "rolebinding,role", "dev", "-n", HIDDEN, "--ignore-not-found")
