"""A person walks the Browse pages: overview -> namespace -> a Deployment mid-rollout -> a Pod -> its owner."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def demo() -> dict:
    cluster = f.make_cluster("demo")
    f.make_namespace(cluster, "demo")
    f.make_namespace(cluster, "kube-system")
    deploy, old_rs, new_rs, pods = f.rollout(cluster, "demo", "web", old_pods=2, new_pods=2)
    f.make_event(
        cluster,
        kind="Deployment",
        name="web",
        involved_uid=deploy.uid,
        namespace="demo",
        reason="ScalingReplicaSet",
        message=f"Scaled up replica set {new_rs.name} from 1 to 2",
    )
    f.make_event(
        cluster,
        kind="Pod",
        name=pods[-1].name,
        involved_uid=pods[-1].uid,
        namespace="demo",
        reason="Unhealthy",
        message="Readiness probe failed: HTTP probe failed with statuscode: 503",
        type="Warning",
    )
    f.docs_nginx_pod(cluster, "demo")
    f.docs_hello_job(cluster, "demo")
    f.multi_container_pod(cluster, "demo")
    f.make_statefulset(cluster, "demo", "db")
    tpl = f.pod_template({"app": "report"}, [f.container("report", "busybox:1.36", command=["date"])])
    cron = f.make_cronjob(cluster, "demo", "report", tpl)
    f.make_job(cluster, "demo", "report-29012345", tpl, owner=cron)
    f.make_daemonset(cluster, "kube-system", "node-agent")
    return {"deploy": deploy, "old_rs": old_rs, "new_rs": new_rs, "pods": pods}


def test_it_walks_from_the_overview_to_a_pods_owner(page: Page, live_server: object, viewer: User, demo: dict) -> None:
    log_in(page, live_server.url, viewer.username)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    screenshot(page, "browse-overview")

    page.get_by_role("link", name="demo", exact=True).last.click()
    expect(page.locator("h1")).to_contain_text("demo")
    expect(page.locator("#workload-table")).to_contain_text("web")
    expect(page.locator("#workload-table")).to_contain_text("progressing")
    expect(page.get_by_text("Pods without a controller")).to_be_visible()
    screenshot(page, "browse-namespace")

    page.locator("#workload-table").get_by_role("link", name="web", exact=True).click()
    expect(page.locator("h1")).to_contain_text("web")
    groups = page.locator(".revgroup")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_contain_text("current template")
    expect(groups.nth(1)).to_contain_text("outdated")
    expect(groups.nth(1)).to_contain_text("differs from the current template in: image of container web")
    expect(page.locator("svg.tree circle")).to_have_count(4)
    expect(page.locator("#template-" + demo["deploy"].uid)).to_contain_text("secret db-creds key password")
    screenshot(page, "browse-deployment-rollout")

    old_pod = demo["pods"][0]
    groups.nth(1).get_by_role("link", name=old_pod.name).click()
    expect(page.locator("h1")).to_contain_text(old_pod.name)
    chain = page.locator("nav.chain")
    expect(chain).to_contain_text(f"ReplicaSet {demo['old_rs'].name}")
    expect(chain).to_contain_text("Deployment web")
    screenshot(page, "browse-pod")

    chain.get_by_role("link", name="Deployment web").click()
    expect(page).to_have_url(f"{live_server.url}/c/demo/ns/demo/deployment/web/")


def test_it_shows_the_docs_examples(page: Page, live_server: object, viewer: User, demo: dict) -> None:
    log_in(page, live_server.url, viewer.username)
    page.goto(f"{live_server.url}/c/demo/ns/demo/pods/nginx/")
    card = page.locator(".container").first
    expect(card).to_contain_text("nginx:1.14.2")
    expect(card).to_contain_text("80/TCP")
    expect(page.locator("nav.chain")).to_contain_text("a bare Pod")
    screenshot(page, "browse-nginx-pod")

    page.goto(f"{live_server.url}/c/demo/ns/demo/job/hello/")
    expect(page.locator(".container").first).to_contain_text("busybox:1.28")
    expect(page.locator(".container").first).to_contain_text('sh -c echo "Hello, Kubernetes!" && sleep 3600')
    expect(page.locator(".revgroup")).to_contain_text("hello-x7k2p")
    screenshot(page, "browse-hello-job")

    page.goto(f"{live_server.url}/c/demo/ns/demo/pods/two-containers/")
    containers = page.locator(".container")
    expect(containers).to_have_count(3)
    expect(containers.nth(0)).to_contain_text("init container")
    expect(containers.nth(0)).to_contain_text("init-content")
    expect(page.locator("main")).to_contain_text("shared-data")
    expect(page.locator("main")).to_contain_text("emptyDir")
    expect(containers.nth(1)).to_contain_text("shared-data → /usr/share/nginx/html")
    expect(containers.nth(2)).to_contain_text("shared-data → /pod-data")
    screenshot(page, "browse-multi-container-pod")


def test_it_reads_in_the_dark(page: Page, live_server: object, viewer: User, demo: dict) -> None:
    page.emulate_media(color_scheme="dark")
    log_in(page, live_server.url, viewer.username)
    page.goto(f"{live_server.url}/c/demo/ns/demo/deployment/web/")
    expect(page.locator(".revgroup")).to_have_count(2)
    screenshot(page, "browse-deployment-dark")
    page.goto(f"{live_server.url}/c/demo/ns/demo/")
    screenshot(page, "browse-namespace-dark")


def test_it_filters_the_list_with_htmx(page: Page, live_server: object, viewer: User, demo: dict) -> None:
    log_in(page, live_server.url, viewer.username)
    page.goto(f"{live_server.url}/c/demo/workloads/")
    expect(page.locator("#workload-table")).to_contain_text("node-agent")
    page.select_option("select[name=kind]", "StatefulSet")
    expect(page.locator("#workload-table")).not_to_contain_text("node-agent")
    expect(page.locator("#workload-table")).to_contain_text("db")
    expect(page).to_have_url(re.compile(r"kind=StatefulSet"))


def test_it_shows_a_friendly_404(page: Page, live_server: object, viewer: User, demo: dict) -> None:
    log_in(page, live_server.url, viewer.username)
    response = page.goto(f"{live_server.url}/c/demo/ns/demo/deployment/nope/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
