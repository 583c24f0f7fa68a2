"""Rollouts in the browser, on the full stack (target, a Celery worker, Redis, the ASGI server, Chromium).

An editor breaks a Deployment through the edit form, watches the panel say why it stalls, undoes it from the
revision history after a preview, and watches it recover; pauses, resumes, restarts and scales; and follows a
StatefulSet rollout held back by a partition. ``kubectl rollout status`` is asked at each step and must agree.
Every wait is a condition with a timeout.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ARTIFACTS, log_in, screenshot
from tests.support.clusters import TargetCluster
from tests.support.manifests import documents, shop_web
from tests.support.stack import AsgiServer, wait_for
from workloads.models import Cluster, Pod, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT = 45

WEB = documents(
    *shop_web(
        replicas=4,
        progressDeadlineSeconds=10,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
    )
)

DB = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 3
  serviceName: db
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:16"}]
"""


# Records every state the rollout panel shows and its text, as they happen: a state that lasts only until the
# progress deadline is asserted from this record afterwards, not looked for at a moment that may come too late.
RECORD_PANEL = """
window.__panelSeen = [];
document.addEventListener("DOMContentLoaded", () => {
  const note = () => {
    const box = document.querySelector('section[id^="rollout-"]');
    if (box) window.__panelSeen.push([box.dataset.state, box.textContent]);
  };
  note();
  const all = {subtree: true, childList: true, attributes: true, characterData: true};
  new MutationObserver(note).observe(document.body, all);
});
"""


def mirrored(cluster: Cluster, kind: str, name: str, ready: int) -> Workload | None:
    w = Workload.objects.filter(
        cluster=cluster, kind=kind, namespace="shop", name=name, deleted_at__isnull=True
    ).first()
    if w is None or w.ready_replicas != ready:
        return None
    pods = Pod.objects.filter(cluster=cluster, workload_uid=w.uid, deleted_at__isnull=True, ready=True).count()
    return w if pods == ready else None


def panel(page: Page, uid: str) -> Locator:
    return page.locator(f"#rollout-{uid}")


def wait_panel(page: Page, uid: str, text: str | re.Pattern, *, timeout: float = TIMEOUT) -> None:
    """Until the panel, pushed over the page's live socket (never a reload), contains ``text``."""
    expect(panel(page, uid)).to_contain_text(text, timeout=timeout * 1000)


def shoot(page: Page, uid: str, name: str) -> None:
    """The whole page, and the panel alone (easier to look at)."""
    screenshot(page, name)
    # The panel is swapped live, so an element screenshot can catch it detached: clip the page instead.
    box = panel(page, uid).bounding_box()
    if box:
        page.screenshot(path=str(ARTIFACTS / f"{name}-panel.png"), clip=box, full_page=True)


def rollout_status(dc: TargetCluster, what: str) -> tuple[int, str]:
    """``kubectl rollout status --watch=false``: (exit code, what it printed)."""
    result = subprocess.run(
        ["kubectl", f"--kubeconfig={dc.kubeconfig}", "-n", "shop", "rollout", "status", what, "--watch=false"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode, result.stdout + result.stderr


def open_workload(page: Page, asgi: AsgiServer, user: User, kind: str, name: str) -> None:
    log_in(page, asgi.url, user.username)
    page.goto(f"{asgi.url}/c/dc/ns/shop/{kind}/{name}/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)


def test_a_bad_image_stalls_with_its_cause_and_undo_recovers(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, editor: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=WEB)
    w = wait_for(lambda: mirrored(cluster, "Deployment", "web", 4), timeout=60, what="web ready in the mirror")
    open_workload(page, asgi, editor, "deployment", "web")
    expect(panel(page, w.uid)).to_have_attribute("data-state", "complete")
    assert rollout_status(target, "deploy/web") == (0, 'deployment "web" successfully rolled out\n')

    # The edit form sets an image that cannot be pulled.
    page.goto(f"{asgi.url}/c/dc/ns/shop/deployment/web/edit/")
    page.fill("#id_containers-0-image", "nginx:1.99-typo")
    page.get_by_role("button", name="Preview changes").click()
    page.add_init_script(RECORD_PANEL)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{asgi.url}/c/dc/ns/shop/deployment/web/")
    # Within the 10 s deadline kubectl is still waiting (asked at once: the apply has just returned).
    code, said = rollout_status(target, "deploy/web")
    assert code == 0 and "Waiting for deployment" in said, said

    # It says why it cannot finish, and while it still could, it counted down the deadline.
    wait_panel(page, w.uid, "new Pods cannot pull image nginx:1.99-typo (ImagePullBackOff)")
    box = panel(page, w.uid)
    seen = page.evaluate("window.__panelSeen")
    assert any(state == "progressing" and "left of the 10 s progress deadline" in text for state, text in seen), sorted(
        {state for state, _ in seen}
    )

    # Ten seconds without progress: stalled, and kubectl says the same.
    wait_panel(page, w.uid, "ProgressDeadlineExceeded after 10 s")
    expect(box).to_have_attribute("data-state", "stalled")
    expect(box.locator(".rollout-state")).to_have_text("stalled")
    expect(box.locator(".rollout-causes")).to_contain_text("cannot pull image nginx:1.99-typo")
    shoot(page, w.uid, "rollout-2-stalled")
    code, said = rollout_status(target, "deploy/web")
    assert code != 0 and 'deployment "web" exceeded its progress deadline' in said

    # Undo to revision 1 from the history: the preview names the image, then it applies.
    box.get_by_role("link", name=re.compile("Revision history")).click()
    expect(page.locator("#revision-2")).to_contain_text("nginx:1.99-typo")
    expect(page.locator("#revision-2")).to_contain_text("eddie-editor (apply in Podium)")
    expect(page.locator("#diff-fields")).to_contain_text("image of container web")
    page.locator("#revision-1").get_by_role("button", name="Undo to 1…").click()
    expect(page.locator("#preview h2")).to_contain_text("Undo: back to revision 1")
    expect(page.locator("#diff-table tbody tr")).to_have_count(1)
    expect(page.locator("#diff-table")).to_contain_text("spec.template.spec.containers[web].image")
    expect(page.locator("#diff-table")).to_contain_text("nginx:1.25")
    screenshot(page, "rollout-3-undo-preview")
    page.get_by_role("button", name="Undo").click()
    page.wait_for_url(f"{asgi.url}/c/dc/ns/shop/deployment/web/")
    expect(page.locator(".messages")).to_contain_text("Rolled back to revision 1")

    # Back to complete, on revision 3 (the old ReplicaSet adopted again), as kubectl says.
    wait_panel(page, w.uid, "Complete: revision 3 runs on 4 of 4 Pods")
    expect(box).to_have_attribute("data-state", "complete")
    expect(box.locator(".rollout-causes")).to_have_count(0)
    shoot(page, w.uid, "rollout-4-recovered")
    assert rollout_status(target, "deploy/web") == (0, 'deployment "web" successfully rolled out\n')
    image = target.get_json("deploy/web", "-n", "shop")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:1.25"


def test_pause_resume_restart_and_scale(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, editor: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=WEB.replace("replicas: 4", "replicas: 2"))
    w = wait_for(lambda: mirrored(cluster, "Deployment", "web", 2), timeout=60, what="web ready in the mirror")
    open_workload(page, asgi, editor, "deployment", "web")
    box, actions = panel(page, w.uid), page.locator(f"#rollout-actions-{w.uid}")

    # Paused: a new template waits, and the panel says so.
    actions.get_by_role("button", name="Pause").click()
    expect(page.locator(".messages")).to_contain_text("Paused")
    target.kubectl("set", "image", "-n", "shop", "deploy/web", "web=nginx:1.26")
    wait_panel(page, w.uid, "Paused at 0 of 2 updated: the rollout waits for resume.")
    expect(box).to_have_attribute("data-state", "paused")
    shoot(page, w.uid, "rollout-5-paused")
    assert len(target.get_json("rs", "-n", "shop")["items"]) == 1
    assert target.get_json("deploy/web", "-n", "shop")["spec"]["paused"] is True

    actions.get_by_role("button", name="Resume").click()
    wait_panel(page, w.uid, "Complete: revision 2 runs on 2 of 2 Pods")
    assert rollout_status(target, "deploy/web")[0] == 0

    # Restart: a preview, then every Pod replaced and one revision more.
    before = {p["metadata"]["uid"] for p in target.get_json("pods", "-n", "shop")["items"]}
    actions.get_by_role("button", name="Restart…").click()
    expect(page.locator("#diff-table")).to_contain_text("kubectl.kubernetes.io/restartedAt")
    page.get_by_role("button", name="Restart").click()
    page.wait_for_url(f"{asgi.url}/c/dc/ns/shop/deployment/web/")
    wait_panel(page, w.uid, "Complete: revision 3 runs on 2 of 2 Pods")
    pods = [p for p in target.get_json("pods", "-n", "shop")["items"] if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == 2 and not before & {p["metadata"]["uid"] for p in pods}
    assert (
        target.get_json("deploy/web", "-n", "shop")["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == "3"
    )

    # Scale: the counts follow.
    actions.locator("input[name=replicas]").fill("5")
    actions.get_by_role("button", name="Scale").click()
    expect(page.locator(".messages")).to_contain_text("from 2 to 5 replicas")
    wait_panel(page, w.uid, "Complete: revision 3 runs on 5 of 5 Pods")
    expect(box.locator(".tile").first).to_contain_text("5")
    assert target.get_json("deploy/web", "-n", "shop")["status"]["availableReplicas"] == 5


def test_a_statefulset_rollout_stops_at_its_partition(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, editor: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=DB)
    w = wait_for(lambda: mirrored(cluster, "StatefulSet", "db", 3), timeout=60, what="db ready in the mirror")
    open_workload(page, asgi, editor, "statefulset", "db")
    target.kubectl("set", "image", "-n", "shop", "sts/db", "db=postgres:17")

    # Only the ordinal at or above the partition (db-2) moves to the new revision.
    wait_panel(page, w.uid, "Partition 2: ordinals 0–1 keep the old revision.")
    wait_panel(page, w.uid, re.compile(r"Complete: 1 of 1 Pods to update run revision 2"))
    box = panel(page, w.uid)
    slots = box.locator(".rollout-slots li")
    expect(slots).to_have_count(3)
    expect(slots.nth(0)).to_contain_text("held")
    expect(slots.nth(1)).to_contain_text("held")
    expect(slots.nth(2)).to_contain_text("new")
    shoot(page, w.uid, "rollout-6-statefulset-partition")
    code, said = rollout_status(target, "sts/db")
    assert code == 0 and "partitioned roll out complete: 1 new pods have been updated" in said
    images = {
        p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
        for p in target.get_json("pods", "-n", "shop")["items"]
    }
    assert images == {"db-0": "postgres:16", "db-1": "postgres:16", "db-2": "postgres:17"}
