"""axe-core finds no serious or critical violation on any page, in the light and the dark theme, in English and in
Chinese; the live indicator is a polite live region; the shortcuts dialog is checked open too."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y_support import serious_violations
from tests.e2e.conftest import log_in
from tests.support.edit import EditCluster, settle
from workloads.models import Cluster, Pod
from workloads.sync.watcher import sync_once

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def pages(deployment: str, pod: str) -> list[str]:
    workload = f"/c/demo/ns/default/deployment/{deployment}/"
    return [
        "/",
        "/c/demo/workloads/",
        "/c/demo/workloads/?kind=Pod",
        "/c/demo/ns/default/",
        workload,
        f"{workload}yaml/",
        f"{workload}edit/",
        f"{workload}yaml/edit/",
        f"{workload}rollout/",
        f"{workload}revisions/",
        f"{workload}logs/",
        f"/c/demo/ns/default/pods/{pod}/",
        f"/c/demo/ns/default/pods/{pod}/logs/",
        f"/c/demo/ns/default/pods/{pod}/delete/",
        "/c/demo/ns/default/configmap/a11y-settings/",
        "/c/demo/ns/default/secret/db-credentials/",
        f"/c/demo/ns/default/service/{deployment}/",
        "/c/demo/apply/",
        "/audit/",
        "/c/demo/ns/default/deployment/not-there/",
    ]


def around(deployment: str) -> str:
    """A Service for the Deployment, the Secret its template reads, and a ConfigMap: their pages are checked too."""
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {deployment}, namespace: default}}
spec:
  selector: {{app: {deployment}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: db-credentials, namespace: default}}
stringData: {{password: a11y-value}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: a11y-settings, namespace: default}}
data: {{MODE: prod}}
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_axe_finds_nothing_serious_on_any_page(
    browser: Browser,
    live_server: object,
    editor: User,
    deployment: str,
    cluster_row: Cluster,
    edit_cluster: EditCluster,
    theme: str,
    locale: str,
) -> None:
    settle(edit_cluster, deployment)
    edit_cluster.kubectl("apply", "-f", "-", input=around(deployment))
    sync_once(cluster_row)
    pod = Pod.objects.filter(cluster=cluster_row, name__startswith=deployment, deleted_at__isnull=True).first()
    assert pod is not None
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=theme, locale=locale)
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    found: dict[str, list[str]] = {}
    page.goto(f"{live_server.url}/login/")
    found["/login/"] = serious_violations(page)
    log_in(page, live_server.url, editor.username)
    for path in pages(deployment, pod.name):
        page.goto(f"{live_server.url}{path}")
        found[path] = serious_violations(page)
    # The edit preview, and the shortcuts dialog open over a page.
    page.goto(f"{live_server.url}/c/demo/ns/default/deployment/{deployment}/edit/")
    page.fill("#id_containers-0-image", "nginx:1.27")
    page.locator("button", has_text="Preview changes" if locale == "en-US" else "预览更改").click()
    expect(page.locator("#diff-table")).to_be_visible()
    found["edit preview"] = serious_violations(page)
    page.keyboard.press("?")
    expect(page.locator("#shortcuts-help")).to_be_visible()
    found["shortcuts dialog"] = serious_violations(page)
    context.close()
    found = {path: v for path, v in found.items() if v}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(v) for path, v in found.items())


def test_the_live_indicator_is_a_polite_status(
    page: Page, live_server: object, viewer: User, cluster_row: Cluster
) -> None:
    log_in(page, live_server.url, viewer.username)
    indicator = page.locator("#live-indicator")
    expect(indicator).to_have_attribute("role", "status")
    expect(indicator).to_have_attribute("aria-live", "polite")
