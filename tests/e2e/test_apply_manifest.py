"""An admin applies a manifest that creates its own Namespace, with a ConfigMap, a Secret, a Service and a
Deployment in it: the preview shows a diff per object, the objects are then in the cluster (as kubectl reads it),
and the Secret's values appear nowhere: not on any page, in the preview, the audit trail, the YAML view, the frames
the page received, nor in any table of the database (searched for plain and base64-encoded)."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.clusters import TargetCluster
from tests.support.stack import AsgiServer, wait_for
from tests.support.sync import everything_stored
from workloads.models import ChangeRecord, Cluster, RelatedObject, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAMESPACE = "applied"
PASSWORD = "s3cret-podium-applies-never-shows"
TOKEN = "t0ken-podium-applies-never-shows"
LAST_APPLIED = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": NAMESPACE},
        "stringData": {"token": TOKEN},
    }  # fmt: skip
)
MANIFEST = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        envFrom: [{{configMapRef: {{name: web-config}}}}]
        env: [{{name: DB_PASSWORD, valueFrom: {{secretKeyRef: {{name: db, key: password}}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 80}}]
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: {NAMESPACE}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{LAST_APPLIED}'
data:
  password: {base64.b64encode(PASSWORD.encode()).decode()}
stringData:
  token: {TOKEN}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web-config, namespace: {NAMESPACE}}}
data: {{greeting: hello}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
"""
ORDER = ["Namespace", "Secret", "ConfigMap", "Service", "Deployment"]


def forms_of(value: str) -> list[str]:
    """The value as it could appear: plain, base64 (as a Secret's data holds it), and base64 of that."""
    once = base64.b64encode(value.encode()).decode()
    return [value, once, base64.b64encode(once.encode()).decode()]


def assert_hidden(text: str, where: str) -> None:
    for value in (PASSWORD, TOKEN):
        for form in forms_of(value):
            assert form not in text, f"a Secret value ({form[:12]}...) in {where}"


@pytest.fixture
def admin(db: None) -> User:
    user = User.objects.create_user("ada-apply", "ada@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="admin"))
    return user


def test_it_applies_a_namespace_and_its_objects_and_never_shows_the_secret(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, admin: User
) -> None:
    start_worker()
    frames: list[str] = []

    def on_socket(socket: WebSocket) -> None:
        socket.on(
            "framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else repr(payload))
        )

    page.on("websocket", on_socket)
    log_in(page, asgi.url, admin.username)
    page.goto(f"{asgi.url}/c/{cluster.name}/apply/")
    page.fill("#id_text", MANIFEST)
    page.get_by_role("button", name="Preview").click()

    items = page.locator("#manifest-items article.manifest-item")
    expect(items).to_have_count(5)
    titles = [t.split(". ", 1)[1].split(" ")[0] for t in items.locator("h3").all_inner_texts()]
    assert titles == ORDER  # sent in this order, whatever order the manifest has
    for i in range(5):
        expect(items.nth(i)).to_contain_text("will be created")
        expect(items.nth(i).locator(".diff, table, pre").first).to_be_visible()
    secret = page.locator("article.manifest-item", has_text="Secret applied/db")
    expect(secret).to_contain_text("data.password")
    expect(secret).to_contain_text("stringData.token")  # the document itself: its namespace is not there yet
    expect(secret).to_contain_text("••••••")
    expect(page.locator("article.manifest-item", has_text="Deployment applied/web")).to_contain_text(
        "in the namespace this manifest creates"
    )
    assert_hidden(page.content(), "the preview page")
    screenshot(page, "apply-manifest-preview")
    assert target.kubectl("get", "namespace", NAMESPACE, "--ignore-not-found", "-o", "name") == ""

    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#manifest-items h2")).to_have_text("Result")
    expect(page.locator("#manifest-items .badge", has_text="created")).to_have_count(5)
    expect(page.locator("#manifest-error")).to_have_count(0)
    assert_hidden(page.content(), "the result page")
    screenshot(page, "apply-manifest-applied")

    # In the cluster, as kubectl reads it: the Secret holds the values the manifest gave.
    stored = target.get_json("secret", "db", "-n", NAMESPACE)["data"]
    assert base64.b64decode(stored["password"]).decode() == PASSWORD
    assert base64.b64decode(stored["token"]).decode() == TOKEN
    assert target.get_json("configmap", "web-config", "-n", NAMESPACE)["data"] == {"greeting": "hello"}
    assert target.get_json("service", "web", "-n", NAMESPACE)["spec"]["selector"] == {"app": "web"}
    target.kubectl("rollout", "status", "-n", NAMESPACE, "deploy/web", "--timeout=60s", timeout=90)

    # Previewed again, every object exists: each is now a server dry run of the update, the Secret's keys hidden.
    page.goto(f"{asgi.url}/c/{cluster.name}/apply/")
    page.fill("#id_text", MANIFEST)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#manifest-items .badge", has_text="will be updated")).to_have_count(5)
    expect(page.locator(".deferred-note")).to_have_count(0)
    assert_hidden(page.content(), "the second preview")

    records = ChangeRecord.objects.filter(action="apply-manifest", outcome=ChangeRecord.Outcome.APPLIED)
    assert sorted(records.values_list("kind", flat=True)) == sorted(ORDER)
    assert_hidden(json.dumps(list(ChangeRecord.objects.values()), default=str), "the ChangeRecord rows")
    assert "password" in records.get(kind="Secret").diff

    page.goto(f"{asgi.url}/audit/")
    expect(page.locator("main")).to_contain_text("Secret")
    assert_hidden(page.content(), "the audit page")

    # The mirror follows (the worker syncs the new objects), the pages and their frames show them.
    wait_for(
        lambda: (
            Workload.objects.filter(cluster=cluster, namespace=NAMESPACE, name="web").exists()
            and RelatedObject.objects.filter(cluster=cluster, namespace=NAMESPACE, kind="Secret", name="db").exists()
        ),
        timeout=60,
        what="the applied Deployment and Secret in the mirror",
    )
    page.goto(f"{asgi.url}/c/{cluster.name}/ns/{NAMESPACE}/deployment/web/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=30_000)
    assert_hidden(page.content(), "the Deployment's page")
    page.goto(f"{asgi.url}/c/{cluster.name}/ns/{NAMESPACE}/deployment/web/yaml/")
    expect(page.locator("main")).to_contain_text("secretKeyRef")
    assert_hidden(page.content(), "the YAML view")
    assert frames, "the pages received no WebSocket frame"
    assert_hidden("\n".join(frames), "the WebSocket frames")
    assert_hidden(everything_stored(), "the database")
