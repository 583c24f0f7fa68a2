"""Every Browse page renders for a viewer, refuses an outsider, and 404s on what the mirror lacks."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def demo() -> dict:
    cluster = f.make_cluster("demo")
    f.make_namespace(cluster, "shop")
    deploy, old_rs, new_rs, pods = f.rollout(cluster, "shop", "web")
    nginx = f.docs_nginx_pod(cluster, "shop")
    job, job_pod = f.docs_hello_job(cluster, "shop")
    f.make_event(
        cluster,
        kind="Pod",
        name=pods[0].name,
        involved_uid=pods[0].uid,
        namespace="shop",
        reason="Killing",
        message="Stopping container web",
    )
    return {
        "cluster": cluster,
        "deploy": deploy,
        "old_rs": old_rs,
        "new_rs": new_rs,
        "pods": pods,
        "nginx": nginx,
        "job": job,
        "job_pod": job_pod,
    }


def test_it_shows_the_overview_with_namespace_counts(viewer_client: Client, demo: dict) -> None:
    response = viewer_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/c/demo/ns/shop/" in html
    assert "v1.32.0" in html
    assert "progressing" in html


def test_it_redirects_the_header_pickers_to_the_namespace_page(viewer_client: Client, demo: dict) -> None:
    assert viewer_client.get("/?cluster=demo&namespace=shop")["Location"] == "/c/demo/ns/shop/"
    assert viewer_client.get("/?cluster=demo&namespace=gone")["Location"] == "/c/demo/workloads/"


def test_it_shows_the_namespace_page_with_bare_pods(viewer_client: Client, demo: dict) -> None:
    response = viewer_client.get("/c/demo/ns/shop/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="workload-{demo["deploy"].uid}"' in html
    assert f'id="workload-{demo["job"].uid}"' in html
    assert "Pods without a controller" in html
    assert f'id="pod-{demo["nginx"].uid}"' in html
    # A Deployment's ReplicaSets are shown on its page, not in the list.
    assert demo["old_rs"].name not in html


def test_it_shows_the_workload_page(viewer_client: Client, demo: dict) -> None:
    response = viewer_client.get("/c/demo/ns/shop/deployment/web/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="workload-{demo["deploy"].uid}"' in html
    assert f'id="pods-{demo["deploy"].uid}"' in html
    assert "nginx:1.27" in html
    assert "<svg" in html
    assert "Killing" in html


def test_it_shows_the_pod_page_with_its_owner_chain(viewer_client: Client, demo: dict) -> None:
    pod = demo["pods"][0]
    response = viewer_client.get(f"/c/demo/ns/shop/pods/{pod.name}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="pod-{pod.uid}"' in html
    assert f"ReplicaSet {demo['old_rs'].name}" in html
    assert 'href="/c/demo/ns/shop/deployment/web/"' in html
    assert "Stopping container web" in html


def test_it_shows_a_bare_pod(viewer_client: Client, demo: dict) -> None:
    html = viewer_client.get("/c/demo/ns/shop/pods/nginx/").content.decode()
    assert "nginx:1.14.2" in html
    assert "80/TCP" in html
    assert "a bare Pod" in html


def test_it_shows_the_hello_job_with_its_command(viewer_client: Client, demo: dict) -> None:
    html = viewer_client.get("/c/demo/ns/shop/job/hello/").content.decode()
    assert "busybox:1.28" in html
    assert "sh -c echo &quot;Hello, Kubernetes!&quot; &amp;&amp; sleep 3600" in html
    assert demo["job_pod"].name in html


@pytest.mark.parametrize("kind,name", [("deployment", "web"), ("pods", "nginx"), ("replicaset", None)])
def test_it_shows_yaml_without_managed_fields(viewer_client: Client, demo: dict, kind: str, name: str | None) -> None:
    from workloads.models import Pod, TemplateRevision, Workload

    name = name or demo["old_rs"].name
    for model in (Workload, Pod, TemplateRevision):
        for row in model.objects.filter(name=name):
            row.raw["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
            row.save()
    response = viewer_client.get(f"/c/demo/ns/shop/{kind}/{name}/yaml/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"name: {name}" in html
    assert "fieldsV1" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/c/nope/workloads/",
        "/c/nope/ns/shop/",
        "/c/demo/ns/nope/",
        "/c/demo/ns/shop/deployment/nope/",
        "/c/demo/ns/shop/widget/web/",
        "/c/demo/ns/shop/pods/nope/",
        "/c/demo/ns/shop/deployment/nope/yaml/",
    ],
)
def test_it_404s_on_what_the_mirror_lacks(viewer_client: Client, demo: dict, path: str) -> None:
    response = viewer_client.get(path)
    assert response.status_code == 404
    assert b"Not found" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/c/demo/workloads/",
        "/c/demo/ns/shop/",
        "/c/demo/ns/shop/deployment/web/",
        "/c/demo/ns/shop/pods/nginx/",
        "/c/demo/ns/shop/pods/nginx/yaml/",
    ],
)
def test_it_refuses_an_outsider(outsider_client: Client, demo: dict, path: str) -> None:
    assert outsider_client.get(path).status_code == 403


def test_it_hides_deleted_workloads_unless_asked(viewer_client: Client, demo: dict) -> None:
    from django.utils import timezone

    demo["job"].deleted_at = timezone.now()
    demo["job"].save()
    assert f'id="workload-{demo["job"].uid}"' not in viewer_client.get("/c/demo/ns/shop/").content.decode()
    assert f'id="workload-{demo["job"].uid}"' in viewer_client.get("/c/demo/ns/shop/?deleted=1").content.decode()
