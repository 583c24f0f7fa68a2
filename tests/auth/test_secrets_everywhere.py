"""No secret-looking literal value reaches a viewer: every page and the live frames are searched for marker values.

The values hide where a viewer would meet them: an env var named like a secret, the userinfo of a URL in a value
whose name does not look secret, a ``password`` key inside the last-applied annotation, and the audit trail's
diffs and patches of edits that changed them.
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from dashboard.asgi import application
from tests.support import factories as f
from workloads.edits import apply as edit_apply
from workloads.edits.diff import diff_objects
from workloads.live import publish as live
from workloads.models import ChangeRecord

pytestmark = [pytest.mark.django_db(transaction=True)]

OLD, NEW = "marker-old-b4f2", "marker-new-9c1e"
MARKER = re.compile("marker-(old|new)-")


def template(value: str) -> dict:
    return f.pod_template(
        {"app": "api"},
        [
            f.container(
                "api",
                "api:1",
                env=[
                    {"name": "DB_PASSWORD", "value": f"pw-{value}"},
                    {"name": "DATABASE_URL", "value": f"postgres://app:url-{value}@db/app"},
                    {"name": "LOG_LEVEL", "value": "debug"},
                ],
                args=[f"--upstream=https://bot:arg-{value}@upstream.example.com/"],
            )
        ],
    )


def last_applied(value: str) -> str:
    return json.dumps({"spec": {"template": template(value)}, "data": {"password": f"la-{value}"}})


@pytest.fixture
def world(editor: User) -> dict:
    cluster = f.make_cluster("demo")
    f.make_namespace(cluster, "shop")
    old_t, new_t = template(OLD), template(NEW)
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": last_applied(NEW)}
    deploy = f.make_deployment(cluster, "shop", "api", new_t, annotations=annotations, revision=2)
    old_rs = f.make_replicaset(cluster, deploy, old_t, revision=1, replicas=0)
    new_rs = f.make_replicaset(cluster, deploy, new_t, revision=2, replicas=3)
    pod_t = copy.deepcopy(new_t)
    pod_t["metadata"]["labels"]["pod-template-hash"] = new_rs.template_hash
    pod = f.make_pod(
        cluster, "shop", "api-1", pod_t, owner=("ReplicaSet", new_rs.name, new_rs.uid), workload_uid=deploy.uid
    )
    # The audit trail of the edit that changed them, recorded as the edit views record it.
    before = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied(OLD)}}}
    before["spec"] = {"template": old_t}
    after = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied(NEW)}}}
    after["spec"] = {"template": new_t}
    diff = diff_objects("Deployment", before, after)
    for outcome in ("previewed", "applied"):
        edit_apply.record(
            user=editor,
            cluster=cluster,
            action="edit",
            kind="Deployment",
            namespace="shop",
            name="api",
            workload_uid=deploy.uid,
            patch={"spec": {"template": new_t}},
            diff=diff.text,
            outcome=outcome,
            message=f"apply to postgres://app:msg-{NEW}@db/app refused",
        )
    return {"cluster": cluster, "deploy": deploy, "old_rs": old_rs, "pod": pod, "diff": diff}


PAGES = [
    "/",
    "/c/demo/workloads/",
    "/c/demo/ns/shop/",
    "/c/demo/ns/shop/deployment/api/",
    "/c/demo/ns/shop/deployment/api/yaml/",
    "/c/demo/ns/shop/deployment/api/rollout/",
    "/c/demo/ns/shop/deployment/api/revisions/",
    "/c/demo/ns/shop/deployment/api/revisions/?a=1&b=2",
    "/c/demo/ns/shop/replicaset/{old_rs}/",
    "/c/demo/ns/shop/replicaset/{old_rs}/yaml/",
    "/c/demo/ns/shop/pods/api-1/",
    "/c/demo/ns/shop/pods/api-1/yaml/",
    "/audit/",
]


def test_it_shows_no_secret_looking_value_on_any_page(world: dict, viewer_client: Client) -> None:
    for page in PAGES:
        path = page.format(old_rs=world["old_rs"].name)
        response = viewer_client.get(path)
        assert response.status_code == 200, path
        partial = viewer_client.get(path, headers={"HX-Request": "true"})
        for html in (response.content.decode(), partial.content.decode()):
            found = MARKER.search(html)
            assert not found, (path, found and html[max(0, found.start() - 300) : found.end() + 50])


def test_it_shows_the_audit_trail_that_a_hidden_value_changed(world: dict, viewer_client: Client) -> None:
    html = viewer_client.get("/audit/").content.decode()
    assert "DB_PASSWORD" in html and "•••••• #" in html
    changed = [c.path for c in world["diff"].changes]
    assert "spec.template.spec.containers[api].env[DB_PASSWORD].value" in changed
    assert "spec.template.spec.containers[api].env[DATABASE_URL].value" in changed
    for record in ChangeRecord.objects.all():
        stored = json.dumps(record.patch) + record.diff + record.message
        assert not MARKER.search(stored), stored


async def test_it_sends_no_secret_looking_value_in_a_frame(world: dict, viewer: User) -> None:
    def cookie() -> tuple[bytes, bytes]:
        client = Client()
        client.force_login(viewer)
        return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())

    cluster, deploy, pod = world["cluster"], world["deploy"], world["pod"]
    sockets = [
        (
            [live.cluster_group(cluster.id), live.workload_group(cluster.id, deploy.uid)],
            "/c/demo/ns/shop/deployment/api/",
        ),
        ([live.cluster_group(cluster.id), live.pod_group(cluster.id, pod.uid)], "/c/demo/ns/shop/pods/api-1/"),
    ]
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost"), await sync_to_async(cookie)()]
    for groups, page in sockets:
        path = "/ws/live/?" + urlencode([("sub", g) for g in groups] + [("page", page)])
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected, page
        frame = await communicator.receive_from(timeout=5)
        assert "api" in frame and not MARKER.search(frame), page
        await communicator.disconnect()


def test_it_redacts_audit_rows_written_before_the_audit_trail_was_redacted(world: dict) -> None:
    import difflib
    import importlib

    import yaml
    from django.apps import apps

    def dump(value: str) -> list[str]:
        return yaml.safe_dump({"spec": {"template": template(value)}}, sort_keys=False).splitlines(keepends=True)

    legacy_diff = "".join(difflib.unified_diff(dump(OLD), dump(NEW), "before", "after", n=3))
    assert MARKER.search(legacy_diff)
    row = ChangeRecord.objects.create(
        action="edit",
        kind="Deployment",
        namespace="shop",
        name="api",
        outcome="applied",
        patch={"spec": {"template": template(NEW)}, "data": {"password": f"la-{NEW}"}},
        diff=legacy_diff,
        message=f"postgres://app:msg-{NEW}@db/app",
    )
    migration = importlib.import_module("workloads.migrations.0004_redact_change_records")
    migration.redact_records(apps, None)
    row.refresh_from_db()
    assert not MARKER.search(json.dumps(row.patch) + row.diff + row.message), row.diff
    assert "-          value: ••••••\n" in row.diff  # the line stays, so the diff still says DB_PASSWORD changed
    assert "https://••••••@upstream.example.com/" in row.diff
