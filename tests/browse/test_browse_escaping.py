"""Cluster data is text: tags in labels, annotations, container names and event messages are escaped."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def hostile() -> dict:
    cluster = f.make_cluster()
    f.make_namespace(cluster, "shop")
    tpl = f.pod_template(
        {"app": "web", "evil": SCRIPT},
        [
            f.container(IMG, "nginx:1.27", env=[{"name": "X", "value": SCRIPT}], command=["sh", "-c", IMG]),
            f.container("sidecar", SCRIPT),
        ],
    )
    tpl["metadata"]["annotations"] = {"note": SCRIPT, "other": IMG}
    deploy = f.make_deployment(
        cluster, "shop", "web", tpl, labels={"app": "web", "evil": SCRIPT}, annotations={"evil": IMG + SCRIPT}
    )
    pod = f.make_pod(
        cluster, "shop", "web-1", tpl, owner=("Deployment", IMG, deploy.uid), workload_uid=deploy.uid, node=IMG
    )
    f.make_event(
        cluster, kind="Pod", name="web-1", involved_uid=pod.uid, namespace="shop", reason=SCRIPT, message=IMG + SCRIPT
    )
    f.make_event(
        cluster, kind="Deployment", name="web", involved_uid=deploy.uid, namespace="shop", reason="X", message=SCRIPT
    )
    return {"deploy": deploy, "pod": pod}


@pytest.mark.parametrize(
    "path",
    [
        "/c/demo/ns/shop/",
        "/c/demo/ns/shop/deployment/web/",
        "/c/demo/ns/shop/pods/web-1/",
        "/c/demo/ns/shop/pods/web-1/yaml/",
        "/c/demo/ns/shop/deployment/web/yaml/",
        "/c/demo/ns/shop/?kind=Pod",
    ],
)
def test_it_escapes_cluster_data(viewer_client: Client, hostile: dict, path: str) -> None:
    html = viewer_client.get(path).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;img src=x" in html


def test_it_escapes_every_hostile_field_on_the_workload_page(viewer_client: Client, hostile: dict) -> None:
    html = viewer_client.get("/c/demo/ns/shop/deployment/web/").content.decode()
    assert "evil=&lt;script&gt;alert(1)&lt;/script&gt;" in html  # label
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # container name, annotation, event
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4


def test_it_escapes_a_hostile_label_selector(viewer_client: Client, hostile: dict) -> None:
    html = viewer_client.get("/c/demo/ns/shop/", {"label": IMG, "q": SCRIPT}).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
