"""The reverse look-ups in Chromium, on both clusters: a Service's page lists its ready endpoints and follows a scale
without a reload; a Secret's page lists its readers and no value; a ConfigMap's page lists the workloads that read
it, and "restart the workloads that use it" previews (the Job that reads it is skipped, and why), then restarts them
(new Pods roll out in the cluster) with an audit record per workload; a viewer sees that action disabled, with the
reason."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.clusters import TargetCluster
from tests.support.stack import AsgiServer, wait_for
from workloads.models import ChangeRecord, Cluster, RelatedObject, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30_000
NS = "rel"
SECRET_VALUE = "s3cret-token-rel"
MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web-config, namespace: {NS}}}
data: {{GREETING: hello-from-the-configmap}}
---
apiVersion: v1
kind: Secret
metadata: {{name: web-creds, namespace: {NS}}}
stringData: {{token: {SECRET_VALUE}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NS}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{{name: http, containerPort: 8080}}]
        envFrom: [{{configMapRef: {{name: web-config}}}}]
        env: [{{name: TOKEN, valueFrom: {{secretKeyRef: {{name: web-creds, key: token}}}}}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: cache, namespace: {NS}}}
spec:
  replicas: 1
  serviceName: cache
  selector: {{matchLabels: {{app: cache}}}}
  template:
    metadata: {{labels: {{app: cache}}}}
    spec:
      containers:
      - name: cache
        image: redis:7
        volumeMounts: [{{name: config, mountPath: /etc/cache}}]
      volumes: [{{name: config, configMap: {{name: web-config}}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: migrate, namespace: {NS}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: busybox:1.36
        command: ["sh", "-c", "echo done"]
        env: [{{name: GREETING, valueFrom: {{configMapKeyRef: {{name: web-config, key: GREETING}}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def _person(name: str, role: str) -> User:
    user = User.objects.create_user(name, f"{name}@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name=role))
    return user


def mirrored(cluster: Cluster) -> bool:
    kinds = set(
        RelatedObject.objects.filter(cluster=cluster, namespace=NS, deleted_at=None).values_list("kind", flat=True)
    )
    ready = Workload.objects.filter(cluster=cluster, namespace=NS, ready_replicas__gte=1, deleted_at=None)
    names = set(ready.values_list("name", flat=True))
    return {"web", "cache"} <= names and {"Service", "EndpointSlice", "ConfigMap"} <= kinds


def pods(target: TargetCluster, app: str, field: str = "uid") -> set[str]:
    """The names or uids of an app's Pods that are not being deleted (a StatefulSet's new Pod has the old name)."""
    items = target.get_json("pods", "-n", NS, "-l", f"app={app}")["items"]
    return {p["metadata"][field] for p in items if not p["metadata"].get("deletionTimestamp")}


def test_a_service_follows_a_scale_and_a_configmap_restarts_its_readers(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer
) -> None:
    editor, viewer = _person("eve-editor", "editor"), _person("val-viewer", "viewer")
    start_worker()
    target.kubectl("apply", "-f", "-", input=MANIFEST)
    target.kubectl("rollout", "status", "-n", NS, "deploy/web", "--timeout=90s", timeout=120)
    target.kubectl("rollout", "status", "-n", NS, "sts/cache", "--timeout=90s", timeout=120)
    wait_for(lambda: mirrored(cluster), timeout=60, what="web, cache, the Service and the ConfigMap in the mirror")
    base = asgi.url

    # The workload page's "Around this workload" card links to the Service page.
    log_in(page, base, editor.username)
    page.goto(f"{base}/c/{cluster.name}/ns/{NS}/deployment/web/")
    page.locator(".around").get_by_role("link", name="web", exact=True).click()
    page.wait_for_url(f"{base}/c/{cluster.name}/ns/{NS}/service/web/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    expect(page.locator("main")).to_contain_text("http 80→http/TCP")
    expect(page.locator("#selected-workloads")).to_contain_text("web")
    expect(page.locator("#selected-workloads")).not_to_contain_text("cache")
    ready = page.locator("#endpoints tr.endpoint-ready")
    expect(ready).to_have_count(2, timeout=TIMEOUT)
    expect(page.locator("#endpoint-summary")).to_have_text("2 ready, 0 not ready")
    for name in pods(target, "web", "name"):
        expect(page.locator("#endpoints")).to_contain_text(name)

    page.evaluate("window.__notReloaded = true")
    target.kubectl("scale", "-n", NS, "deploy/web", "--replicas=3")
    expect(ready).to_have_count(3, timeout=TIMEOUT)
    expect(page.locator("#endpoint-summary")).to_have_text("3 ready, 0 not ready")
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "related-1-service-scaled")

    # The Secret's page: who reads it, and never its value.
    page.goto(f"{base}/c/{cluster.name}/ns/{NS}/deployment/web/")
    page.locator(".around").get_by_role("link", name="web-creds").click()
    page.wait_for_url(f"{base}/c/{cluster.name}/ns/{NS}/secret/web-creds/")
    expect(page.locator("table.readers")).to_contain_text("env TOKEN of container web")
    expect(page.locator(".secret-note")).to_have_text("Podium never reads, stores or shows a Secret's values.")
    assert SECRET_VALUE not in page.content()
    screenshot(page, "related-2-secret")

    # The ConfigMap's page: who reads it and how, the note that a change restarts nothing, and the restart.
    page.goto(f"{base}/c/{cluster.name}/ns/{NS}/deployment/web/")
    page.locator(".around").get_by_role("link", name="web-config").click()
    page.wait_for_url(f"{base}/c/{cluster.name}/ns/{NS}/configmap/web-config/")
    readers = page.locator("table.readers")
    expect(readers.locator("tr.reader")).to_have_count(3)
    expect(readers).to_contain_text("envFrom of container web")
    expect(readers).to_contain_text("volume config")
    expect(readers).to_contain_text("env GREETING of container migrate")
    expect(page.locator(".config-keys")).to_have_text("GREETING")
    expect(page.locator("main")).not_to_contain_text("hello-from-the-configmap")
    expect(page.locator("#restart-note")).to_contain_text("does not restart the Pods that read it")
    screenshot(page, "related-3-configmap")

    before = {"web": pods(target, "web"), "cache": pods(target, "cache")}
    page.get_by_role("button", name="Restart the workloads that use it…").click()
    plan = page.locator("#restart-plan")
    expect(plan.locator("tr.plan-restart")).to_have_count(2)
    expect(plan.locator("tr.plan-skip")).to_contain_text("A Job cannot be restarted")
    screenshot(page, "related-4-restart-preview")
    assert not ChangeRecord.objects.filter(action="restart", outcome=ChangeRecord.Outcome.APPLIED).exists()
    page.get_by_role("button", name="Restart 2 workloads").click()
    page.wait_for_url(f"{base}/c/{cluster.name}/ns/{NS}/configmap/web-config/")
    expect(page.locator(".messages")).to_contain_text("Deployment web: restarted")
    expect(page.locator(".messages")).to_contain_text("StatefulSet cache: restarted")
    screenshot(page, "related-5-restarted")

    # New Pods roll out in the cluster: every Pod of each workload is a new one (a new uid).
    target.kubectl("rollout", "status", "-n", NS, "deploy/web", "--timeout=90s", timeout=120)
    target.kubectl("rollout", "status", "-n", NS, "sts/cache", "--timeout=90s", timeout=120)
    for app, old in before.items():
        wait_for(
            lambda app=app, old=old: (now := pods(target, app)) and not (now & old),
            timeout=90,
            what=f"{app}'s Pods to be replaced",
        )
    deployment = target.get_json("deployment", "web", "-n", NS)
    assert "kubectl.kubernetes.io/restartedAt" in deployment["spec"]["template"]["metadata"]["annotations"]
    applied = ChangeRecord.objects.filter(action="restart", outcome=ChangeRecord.Outcome.APPLIED, user=editor)
    assert sorted(applied.values_list("kind", "name")) == [("Deployment", "web"), ("StatefulSet", "cache")]
    assert all("ConfigMap web-config" in r.message for r in applied)

    # A viewer sees the action disabled, with the reason.
    page.context.clear_cookies()
    log_in(page, base, viewer.username)
    page.goto(f"{base}/c/{cluster.name}/ns/{NS}/configmap/web-config/")
    expect(page.locator("#restart-users-button")).to_be_disabled()
    expect(page.locator("#restart-users-denied")).to_have_text(
        "val-viewer lacks the editor role: only editors may restart workloads."
    )
    screenshot(page, "related-6-viewer")
