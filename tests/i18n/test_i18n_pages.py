"""Every page in zh-Hans, on democluster and on the real control plane: no English of Podium's is left.

A reader whose browser asks for Chinese (Accept-Language) walks every page an editor can reach, with a cluster
that runs every kind, a rollout stuck on an image that cannot be pulled, a form with errors, previews and the
audit trail; each page must show no string of Podium's English (tests/support/i18n.py says how that is told
apart from the cluster's own words, which stay as the cluster wrote them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.support.clusters import FLAVORS, Kubernetes, TargetCluster, cluster_row, started
from tests.support.edit import form_data
from tests.support.i18n import ClusterText, strings_in, untranslated
from tests.support.stack import wait_for
from workloads.models import (
    ChangeRecord,
    Cluster,
    Event,
    Namespace,
    Node,
    Pod,
    RelatedObject,
    TemplateRevision,
    Workload,
)
from workloads.sync.watcher import sync_once

pytestmark = [pytest.mark.django_db]

NS = "i18n"
APP = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db-credentials, namespace: {NS}}}
stringData: {{password: not-a-real-password}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NS}, labels: {{app: web}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      initContainers: [{{name: setup, image: "busybox:1.36", command: ["sh", "-c", "true"]}}]
      containers:
      - name: web
        image: nginx:1.25
        ports: [{{name: http, containerPort: 80}}]
        env:
        - {{name: MODE, value: prod}}
        - name: PASSWORD
          valueFrom: {{secretKeyRef: {{name: db-credentials, key: password}}}}
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: 500m, memory: 128Mi}}}}
        readinessProbe: {{httpGet: {{path: /, port: 80}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: broken, namespace: {NS}}}
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  selector: {{matchLabels: {{app: broken}}}}
  template:
    metadata: {{labels: {{app: broken}}}}
    spec:
      containers: [{{name: app, image: "nginx:1.99-typo"}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {NS}}}
spec:
  replicas: 2
  serviceName: db
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{partition: 1}}}}
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: "postgres:16"}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {NS}}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      containers: [{{name: agent, image: "fluent/fluent-bit:3.0"}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: once, namespace: {NS}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: once, image: "busybox:1.36", command: ["sh", "-c", "echo done"]}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly, namespace: {NS}}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{{name: report, image: "busybox:1.36", command: ["sh", "-c", "date"]}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: db-credentials, namespace: {NS}}}
stringData: {{password: i18n-secret-value}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web-settings, namespace: {NS}}}
data: {{MODE: prod}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: nginx, namespace: {NS}}}
spec:
  containers: [{{name: nginx, image: "nginx:1.14.2", ports: [{{containerPort: 80}}]}}]
"""

GET_PAGES = [
    "/",
    "/c/dc/workloads/",
    "/c/dc/workloads/?kind=Pod",
    "/c/dc/workloads/?label=app%3D%3D%3D",  # a label selector that does not parse
    f"/c/dc/ns/{NS}/",
    f"/c/dc/ns/{NS}/deployment/web/",
    f"/c/dc/ns/{NS}/deployment/broken/",
    f"/c/dc/ns/{NS}/statefulset/db/",
    f"/c/dc/ns/{NS}/daemonset/agent/",
    f"/c/dc/ns/{NS}/job/once/",
    f"/c/dc/ns/{NS}/cronjob/nightly/",
    f"/c/dc/ns/{NS}/pods/nginx/",
    f"/c/dc/ns/{NS}/deployment/web/yaml/",
    f"/c/dc/ns/{NS}/deployment/web/edit/",
    f"/c/dc/ns/{NS}/statefulset/db/edit/",
    f"/c/dc/ns/{NS}/cronjob/nightly/edit/",
    f"/c/dc/ns/{NS}/deployment/web/yaml/edit/",
    f"/c/dc/ns/{NS}/deployment/web/rollout/",
    f"/c/dc/ns/{NS}/deployment/broken/rollout/",
    f"/c/dc/ns/{NS}/deployment/web/revisions/",
    f"/c/dc/ns/{NS}/statefulset/db/revisions/",
    f"/c/dc/ns/{NS}/pods/nginx/delete/",
    f"/c/dc/ns/{NS}/pods/nginx/logs/",
    f"/c/dc/ns/{NS}/deployment/web/logs/",
    f"/c/dc/ns/{NS}/deployment/web/logs/?tail=abc",  # a form error
    f"/c/dc/ns/{NS}/configmap/web-settings/",
    f"/c/dc/ns/{NS}/secret/db-credentials/",
    f"/c/dc/ns/{NS}/service/web/",
    "/c/dc/apply/",
    "/audit/",
    f"/c/dc/ns/{NS}/deployment/nothing-here/",  # 404
    f"/c/dc/ns/{NS}/configmap/nothing-here/",  # 404
]


@pytest.fixture(scope="module", params=FLAVORS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCluster]:
    with started(request, tmp_path_factory.mktemp("i18n-pages"), namespaces=(NS,), manifest=APP) as target:
        rolled_out(target)
        yield target


def rolled_out(target: TargetCluster) -> None:
    for what in ("deploy/web", "sts/db", "ds/agent"):
        target.kubectl("rollout", "status", "-n", NS, what, "--timeout=90s", timeout=120)

    def pull_fails() -> bool:
        pods = target.get_json("pods", "-n", NS, "-l", "app=broken")["items"]
        statuses = [s for p in pods for s in (p.get("status") or {}).get("containerStatuses") or []]
        return any(
            (s.get("state") or {}).get("waiting", {}).get("reason") in ("ImagePullBackOff", "ErrImagePull")
            for s in statuses
        )

    wait_for(pull_fails, timeout=90, what="the broken Deployment's Pod to fail pulling its image")
    if isinstance(target, Kubernetes):
        # kwok runs nothing: what each container "printed" is a file it serves.
        target.cluster.container_log(NS, "nginx", "nginx", ["start worker processes"])
        for pod in target.get_json("pods", "-n", NS, "-l", "app=web")["items"]:
            target.cluster.container_log(NS, pod["metadata"]["name"], "web", ["listening on :80"])


@pytest.fixture
def cluster(target: TargetCluster) -> Cluster:
    row = cluster_row(target, name="dc")
    sync_once(row)
    return row


def cluster_text(cluster: Cluster) -> ClusterText:
    """Every word the cluster (or a person, through a form) wrote: names, images, labels, messages, reasons."""
    strings: list[str] = [cluster.name, cluster.server_version or ""]
    for model in (Namespace, Node, Workload, TemplateRevision, Pod, Event, RelatedObject):
        for raw in model.objects.filter(cluster=cluster).values_list("raw", flat=True):
            strings.extend(strings_in(raw))
    for record in ChangeRecord.objects.all():
        strings.extend([record.message, record.diff, record.user.username if record.user else ""])
        strings.extend(strings_in(record.patch))
    strings.extend(User.objects.values_list("username", flat=True))
    return ClusterText.of(strings)


def zh(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-Hans,zh;q=0.9,en;q=0.5"
    return client


def check(client: Client, cluster: Cluster, method: str, path: str, data: dict | None = None) -> str:
    response = client.post(path, data or {}) if method == "POST" else client.get(path)
    assert response.status_code in (200, 403, 404, 409, 422), (path, response.status_code)
    html = response.content.decode()
    assert 'lang="zh-hans"' in html, f"{path} is not in Chinese"
    found = untranslated(html, cluster_text(cluster))
    assert not found, f"{method} {path} shows English:\n" + "\n".join(found)
    return html


def test_it_shows_every_page_in_chinese(editor_client: Client, cluster: Cluster, target: TargetCluster) -> None:
    client = zh(editor_client)
    for path in GET_PAGES:
        check(client, cluster, "GET", path)

    # The edit form with an error, a preview, and the rollout previews.
    form = form_data(client.get(f"/c/dc/ns/{NS}/deployment/web/edit/").content.decode())
    check(
        client, cluster, "POST", f"/c/dc/ns/{NS}/deployment/web/edit/", {**form, "containers-0-image": "Not An Image"}
    )
    preview = check(
        client, cluster, "POST", f"/c/dc/ns/{NS}/deployment/web/edit/", {**form, "containers-0-image": "nginx:1.27"}
    )
    assert 'id="diff-table"' in preview
    check(client, cluster, "POST", f"/c/dc/ns/{NS}/deployment/web/actions/restart/")
    check(client, cluster, "POST", f"/c/dc/ns/{NS}/deployment/web/actions/undo/", {"revision": "9"})
    check(client, cluster, "POST", f"/c/dc/ns/{NS}/secret/db-credentials/restart/")
    cron = form_data(client.get(f"/c/dc/ns/{NS}/cronjob/nightly/edit/").content.decode())
    html = check(client, cluster, "POST", f"/c/dc/ns/{NS}/cronjob/nightly/edit/", {**cron, "workload-schedule": "x"})
    assert "不是 cron 调度表达式" in html
    check(client, cluster, "POST", "/c/dc/apply/", {"manifest": "kind: Secret\napiVersion: v1\nmetadata: {name: x}"})
    check(client, cluster, "GET", "/audit/")


def test_it_shows_the_login_and_forbidden_pages_in_chinese(client: Client, outsider_client: Client, db: None) -> None:
    words = ClusterText.of(User.objects.values_list("username", flat=True))
    for c, path in ((zh(client), "/login/"), (zh(outsider_client), "/")):
        html = c.get(path).content.decode()
        assert 'lang="zh-hans"' in html
        assert not untranslated(html, words), untranslated(html, words)
