"""The workload page's "Around this workload" card in Chromium, following the cluster live: a ConfigMap the template
reads that does not exist is flagged, and creating it clears the warning without a reload; the Service's ready
endpoints follow a scale; with an HPA the scale action warns first; a PDB allowing no disruption is called out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.clusters import TargetCluster
from tests.support.manifests import around, container, deployment, documents, namespace
from tests.support.stack import AsgiServer, wait_for
from workloads.models import Cluster, RelatedObject, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30_000
MANIFEST = documents(
    namespace("shop"),
    deployment(
        "web",
        "shop",
        replicas=2,
        containers=[
            container(
                "web",
                "nginx:1.27",
                ports=[{"name": "http", "containerPort": 8080}],
                envFrom=[{"configMapRef": {"name": "web-config"}}],
            )
        ],
    ),
    *around("web", "shop"),
)
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {GREETING: hello}\n"


@pytest.fixture
def editor_person(db: None) -> User:
    user = User.objects.create_user("eve-editor", "eve@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="editor"))
    return user


def mirrored(cluster: Cluster) -> bool:
    kinds = set(
        RelatedObject.objects.filter(cluster=cluster, namespace="shop", deleted_at=None).values_list("kind", flat=True)
    )
    web = Workload.objects.filter(cluster=cluster, kind="Deployment", namespace="shop", name="web").exists()
    return web and {"Service", "EndpointSlice", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds


def test_the_card_follows_the_cluster(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, editor_person: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=MANIFEST)
    wait_for(lambda: mirrored(cluster), timeout=60, what="web, its Service, PDB and HPA in the mirror")
    log_in(page, asgi.url, editor_person.username)
    page.goto(f"{asgi.url}/c/{cluster.name}/ns/shop/deployment/web/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    uid = Workload.objects.get(cluster=cluster, kind="Deployment", name="web").uid
    card = page.locator(f"#around-{uid}")

    problems = card.locator(".around-problems")
    expect(problems).to_have_text("The Pods will fail to start: ConfigMap web-config not found")
    if target.flavor == "democluster":
        # The Pods' own cause agrees: the kubelet cannot make their environment, so none is an endpoint yet.
        causes = page.locator(f"#rollout-{uid} .rollout-causes")
        expect(causes).to_contain_text("cannot start container web (CreateContainerConfigError)", timeout=TIMEOUT)
        expect(causes).to_contain_text('configmap "web-config" not found')
        expect(card.locator(".service-ready")).to_have_text("0 of 2 ready", timeout=TIMEOUT)
    else:  # kwok is no kubelet: it runs the Pods without looking for the ConfigMap (democluster/README.md)
        expect(card.locator(".service-ready")).to_have_text("2 of 2 ready", timeout=TIMEOUT)
    expect(card).to_contain_text("PodDisruptionBudget web allows no disruptions now")
    scale_warning = page.locator(f"#rollout-actions-{uid} .scale-warning")
    expect(scale_warning).to_contain_text("HorizontalPodAutoscaler web sets the replicas (2 to 4)")
    screenshot(page, "around-1-missing-configmap")

    page.evaluate("window.__notReloaded = true")
    target.kubectl("apply", "-f", "-", input=CONFIG)
    expect(problems).to_have_count(0, timeout=TIMEOUT)
    expect(card.locator("tr.reference")).to_contain_text("present")
    # Once it exists the kubelet's next try starts the containers.
    expect(card.locator(".service-ready")).to_have_text("2 of 2 ready", timeout=TIMEOUT)

    target.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=3")
    expect(card.locator(".service-ready")).to_have_text("3 of 3 ready", timeout=TIMEOUT)
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "around-2-configmap-created-and-scaled")
