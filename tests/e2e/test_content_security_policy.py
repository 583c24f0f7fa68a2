"""Under the Content-Security-Policy every page loads without a violation, and htmx, its WebSocket extension and
the header's pickers still work: pages follow the cluster live. The full stack (target, a Celery worker, Redis, the
ASGI server) and Chromium; every wait is for a condition with a timeout."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.support.clusters import TargetCluster
from tests.support.stack import AsgiServer, wait_for
from workloads.models import Cluster, Pod, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000
WEB = """
apiVersion: v1
kind: Namespace
metadata: {name: csp}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: csp}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
"""
# Every violation the page reports, kept across navigations in this tab.
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  const seen = JSON.parse(sessionStorage.getItem("violations") || "[]");
  seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
  sessionStorage.setItem("violations", JSON.stringify(seen));
});
"""


@pytest.fixture
def person(db: None) -> User:
    user = User.objects.create_user("cora-csp", "cora@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="editor"))
    return user


def violations(page: Page, console: list[str]) -> list[str]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('violations') || '[]')") + [
        m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m
    ]


def test_pages_load_without_violations_and_still_follow_the_cluster(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, person: User
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    start_worker()
    target.kubectl("apply", "-f", "-", input=WEB)
    wait_for(
        lambda: Pod.objects.filter(cluster=cluster, namespace="csp", ready=True, deleted_at__isnull=True).count() == 2,
        timeout=60,
        what="2 ready Pods in the mirror",
    )
    log_in(page, asgi.url, person.username)
    web = Workload.objects.get(cluster=cluster, kind="Deployment", name="web")
    pod = Pod.objects.filter(cluster=cluster, namespace="csp", deleted_at__isnull=True).first()
    base = f"{asgi.url}/c/{cluster.name}"
    for path in [
        "/",
        f"/c/{cluster.name}/workloads/",
        f"/c/{cluster.name}/ns/csp/",
        f"/c/{cluster.name}/ns/csp/deployment/web/edit/",
        f"/c/{cluster.name}/ns/csp/deployment/web/yaml/edit/",
        f"/c/{cluster.name}/ns/csp/deployment/web/revisions/",
        f"/c/{cluster.name}/ns/csp/pods/{pod.name}/",
        "/audit/",
    ]:
        response = page.goto(asgi.url + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert violations(page, console) == []

    # The header's picker (its handler is in podium.js now, not inline) goes to what it picks.
    page.goto(f"{asgi.url}/")
    page.select_option("select[name=cluster]", cluster.name)
    page.wait_for_url(re.compile(rf"cluster={cluster.name}|/c/{cluster.name}/"))

    # Live, under the policy: the socket connects, and a change in the cluster reaches the open page.
    page.goto(f"{base}/ns/csp/deployment/web/")
    indicator, rows = page.locator("#live-indicator"), page.locator(f"#pods-{web.uid} .pod-row")
    expect(indicator).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    expect(rows).to_have_count(2)
    target.kubectl("scale", "-n", "csp", "deploy/web", "--replicas=3")
    expect(rows).to_have_count(3, timeout=TIMEOUT)
    expect(page.locator(f"#workload-{web.uid}")).to_contain_text("3/3 ready", timeout=TIMEOUT)

    # htmx under the policy: a boosted preview (restart) swaps the page in.
    page.get_by_role("button", name="Restart…").click()
    expect(page.locator("#preview")).to_contain_text("Restart: replace every Pod", timeout=TIMEOUT)
    assert violations(page, console) == []

    # And the policy holds: an injected inline script does not run, and is reported (so the listener above works).
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("() => JSON.parse(sessionStorage.getItem('violations') || '[]').length > 0", timeout=TIMEOUT)
    assert page.evaluate("window.__ran") is None
    assert any(v.startswith("script-src") for v in violations(page, []))
