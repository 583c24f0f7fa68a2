"""The pages of a ConfigMap, a Secret and a Service, read from the mirror of a real cluster (both flavors): who reads
a ConfigMap or Secret and how, a Secret's page never shows a value, a Service's endpoints, 404 for what is not there,
and "restart the workloads that use it" refused without CSRF or the editor role, changing nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.test import Client

from tests.support.clusters import FLAVORS, TargetCluster, cluster_row, started
from tests.support.stack import wait_for
from workloads.models import ChangeRecord, Cluster, RelatedObject
from workloads.sync.watcher import sync_once

pytestmark = [pytest.mark.django_db]

NS = "relpages"
SECRET_VALUE = "hunter2-relpages-value"
APP = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {NS}, labels: {{team: shop}}}}
data: {{colour: blue-relpages-value, size: large}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: {NS}, annotations: {{owner: shop-team}}}}
stringData: {{password: {SECRET_VALUE}}}
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
      imagePullSecrets: [{{name: creds}}]
      containers:
      - name: web
        image: nginx:1.27
        ports: [{{name: http, containerPort: 8080}}]
        envFrom: [{{configMapRef: {{name: settings}}}}]
        env: [{{name: PASSWORD, valueFrom: {{secretKeyRef: {{name: creds, key: password}}}}}}]
        volumeMounts: [{{name: bundle, mountPath: /etc/bundle}}]
      volumes:
      - name: bundle
        projected:
          sources:
          - secret: {{name: creds}}
          - configMap: {{name: settings, items: [{{key: size, path: size}}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: report, namespace: {NS}}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {{name: report, image: "busybox:1.36", envFrom: [{{configMapRef: {{name: settings}}}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""
BASE = f"/c/dc/ns/{NS}"


@pytest.fixture(scope="module", params=FLAVORS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCluster]:
    with started(request, tmp_path_factory.mktemp("related-pages"), namespaces=(NS,), manifest=APP) as target:
        target.kubectl("rollout", "status", "-n", NS, "deploy/web", "--timeout=90s", timeout=120)
        yield target


@pytest.fixture
def cluster(target: TargetCluster) -> Cluster:
    row = cluster_row(target, name="dc")

    def endpoints_ready() -> bool:
        sync_once(row)
        slices = RelatedObject.objects.filter(cluster=row, namespace=NS, kind="EndpointSlice", deleted_at=None)
        ready = [e for s in slices for e in s.raw.get("endpoints") or () if (e.get("conditions") or {}).get("ready")]
        return len(ready) == 2

    wait_for(endpoints_ready, timeout=60, interval=1, what="both endpoints of Service web ready in the mirror")
    return row


def test_it_shows_who_reads_a_configmap_and_how(cluster: Cluster, viewer_client: Client) -> None:
    html = viewer_client.get(f"{BASE}/configmap/settings/").content.decode()

    assert "envFrom of container web" in html
    assert "projected volume bundle" in html
    assert "envFrom of container report" in html
    assert "A CronJob cannot be restarted" in html
    assert f'href="{BASE}/deployment/web/"' in html and f'href="{BASE}/cronjob/report/"' in html
    assert ">colour<" in html and ">size<" in html and "team=shop" in html
    assert "blue-relpages-value" not in html
    assert "does not restart the Pods that read it" in html


def test_a_secret_page_shows_its_readers_and_never_a_value(cluster: Cluster, editor_client: Client) -> None:
    page = f"{BASE}/secret/creds/"
    html = editor_client.get(page).content.decode()

    assert "env PASSWORD of container web" in html
    assert "projected volume bundle" in html
    assert "imagePullSecrets" in html
    assert "shop-team" in html  # its annotations
    assert "their metadata does not name their keys" in html
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    for shown in (html, editor_client.post(f"{page}restart/").content.decode()):
        assert SECRET_VALUE not in shown and encoded not in shown

    # Key names, when the mirror has them (a metadata-only list does not give them), and still no value.
    RelatedObject.objects.filter(cluster=cluster, kind="Secret", name="creds").update(keys=["password"])
    html = editor_client.get(page).content.decode()
    assert '<span class="tag mono">password</span>' in html
    assert SECRET_VALUE not in html and encoded not in html


def test_a_service_page_lists_its_workloads_and_ready_endpoints(cluster: Cluster, viewer_client: Client) -> None:
    html = viewer_client.get(f"{BASE}/service/web/").content.decode()

    assert "2 ready, 0 not ready" in html
    assert html.count('class="endpoint endpoint-ready"') == 2
    assert "http 80→http/TCP" in html and "app=web" in html
    assert f'href="{BASE}/deployment/web/"' in html
    # The workload page's card links here, and to the ConfigMap and Secret it reads.
    card = viewer_client.get(f"{BASE}/deployment/web/").content.decode()
    for link in (f"{BASE}/service/web/", f"{BASE}/configmap/settings/", f"{BASE}/secret/creds/"):
        assert f'href="{link}"' in card


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/configmap/not-there/",
        f"{BASE}/secret/not-there/",
        f"{BASE}/service/not-there/",
        "/c/dc/ns/no-such-namespace/configmap/settings/",
        "/c/nowhere/ns/relpages/service/web/",
    ],
)
def test_it_is_404_for_what_the_mirror_does_not_have(cluster: Cluster, viewer_client: Client, path: str) -> None:
    assert viewer_client.get(path).status_code == 404


def test_a_restart_without_csrf_or_the_editor_role_changes_nothing(
    cluster: Cluster, target: TargetCluster, editor: object, viewer_client: Client
) -> None:
    before = target.get_json("deployment", "web", "-n", NS)["metadata"]["resourceVersion"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    assert strict.post(f"{BASE}/configmap/settings/restart/").status_code == 403
    assert viewer_client.post(f"{BASE}/configmap/settings/restart/").status_code == 403
    html = viewer_client.get(f"{BASE}/configmap/settings/").content.decode()
    assert "vera-viewer lacks the editor role: only editors may restart workloads." in html
    assert 'disabled title="vera-viewer lacks the editor role' in html

    # A tampered preview is refused too.
    assert strict.post(f"{BASE}/configmap/settings/restart/", {"payload": "forged"}).status_code == 403
    editor_client = Client()
    editor_client.force_login(editor)
    assert editor_client.post(f"{BASE}/configmap/settings/restart/", {"payload": "forged"}).status_code == 400

    assert target.get_json("deployment", "web", "-n", NS)["metadata"]["resourceVersion"] == before
    assert not ChangeRecord.objects.filter(outcome=ChangeRecord.Outcome.APPLIED).exists()


def test_a_deleted_configmap_keeps_its_page_but_restarts_nothing(
    cluster: Cluster, target: TargetCluster, editor_client: Client
) -> None:
    doomed = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: doomed, namespace: {NS}}}\n"
    target.kubectl("apply", "-f", "-", input=doomed)
    sync_once(cluster, ["ConfigMap"])
    target.kubectl("delete", "configmap", "doomed", "-n", NS)
    sync_once(cluster, ["ConfigMap"])

    html = editor_client.get(f"{BASE}/configmap/doomed/").content.decode()
    assert "Deleted from the cluster" in html
    response = editor_client.post(f"{BASE}/configmap/doomed/restart/", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["It was deleted from the cluster."]
    assert not ChangeRecord.objects.exists()
