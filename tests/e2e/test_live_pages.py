"""Open pages follow the cluster: the full stack (target, a Celery worker, Redis, the ASGI server) and Chromium.

Every wait is for a condition with a timeout: Playwright's expect, or wait_for on the mirror.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.clusters import TargetCluster
from tests.support.manifests import documents, shop_web
from tests.support.stack import AsgiServer, wait_for
from workloads.models import Cluster, Pod, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Slow enough to watch: one Pod at a time, each counted available only after it has been ready for a while.
WEB = documents(
    *shop_web(
        replicas=3,
        minReadySeconds=1,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    )
)
TIMEOUT = 30_000
# Records every state the live indicator goes through, so a short-lived one is not missed between two polls.
RECORD_STATES = """
window.__liveStates = [];
window.__swapsWithoutTarget = [];
document.addEventListener("htmx:oobErrorNoTarget", (e) => {
  window.__swapsWithoutTarget.push((e.detail.content && e.detail.content.outerHTML || "").slice(0, 80));
});
new MutationObserver(() => {
  const el = document.getElementById("live-indicator");
  const state = el && el.dataset.state;
  if (state && window.__liveStates.at(-1) !== state) window.__liveStates.push(state);
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state"]});
"""

# True when the element with this id reads the same (its elements with ids, their text, ages left out) as in the
# page loaded again.
SAME_AS_A_FRESH_LOAD = """
async (id) => {
  const shape = (root) => {
    const copy = root.cloneNode(true);
    copy.querySelectorAll("time[data-age]").forEach((t) => { t.textContent = ""; });
    return [...copy.querySelectorAll("[id]")].map((e) => e.id + ":" + e.textContent.replace(/\\s+/g, " ").trim());
  };
  const fresh = new DOMParser().parseFromString(await (await fetch(location.href)).text(), "text/html");
  const now = document.getElementById(id), then = fresh.getElementById(id);
  return !!now && !!then && JSON.stringify(shape(now)) === JSON.stringify(shape(then));
}
"""


@pytest.fixture
def person(db: None) -> User:
    """A viewer with a real (slow) password hash: the ASGI process checks it with its own settings."""
    from django.contrib.auth.models import Group

    user = User.objects.create_user("lena-live", "lena@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="viewer"))
    return user


def ready_pods_in_mirror(cluster: Cluster, n: int) -> bool:
    web = Workload.objects.filter(
        cluster=cluster, kind="Deployment", namespace="shop", name="web", deleted_at__isnull=True
    ).first()
    if web is None:
        return False
    pods = Pod.objects.filter(cluster=cluster, workload_uid=web.uid, deleted_at__isnull=True, ready=True)
    return web.ready_replicas == n and web.desired_replicas == n and pods.count() == n


def web_with_three_ready_pods(target: TargetCluster, cluster: Cluster, start_worker) -> None:
    """The worker follows the cluster, and shop/web's three Pods are ready in the mirror."""
    start_worker()
    target.kubectl("apply", "-f", "-", input=WEB)
    wait_for(lambda: ready_pods_in_mirror(cluster, 3), timeout=60, what="3 ready Pods in the mirror")


def open_web(page: Page, asgi: AsgiServer, person: User, cluster: Cluster) -> str:
    page.add_init_script(RECORD_STATES)
    log_in(page, asgi.url, person.username)
    page.goto(f"{asgi.url}/c/{cluster.name}/ns/shop/deployment/web/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    return Workload.objects.get(cluster=cluster, kind="Deployment", name="web").uid


def test_it_follows_scale_delete_and_a_rollout(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, person: User
) -> None:
    person.groups.add(Group.objects.get(name="editor"))  # who sees the rollout's actions (forms htmx posts)
    web_with_three_ready_pods(target, cluster, start_worker)
    uid = open_web(page, asgi, person, cluster)
    header, rows = page.locator(f"#workload-{uid}"), page.locator(f"#pods-{uid} .pod-row")
    expect(rows).to_have_count(3)
    expect(header).to_contain_text("3/3 ready")
    expect(page.locator("#live-indicator")).to_contain_text(re.compile(r"live data as of \d\d:\d\d:\d\d"))
    screenshot(page, "live-1-three-pods")
    # A young Pod's age counts on in the page, second by second, with no frame needed for it (the ages on screen:
    # static/podium/ages.js).
    age = page.locator(f"#pods-{uid} .pod-row time[data-age]").first
    age.scroll_into_view_if_needed()
    before = age.text_content()
    assert re.fullmatch(r"\d+s", before), before
    expect(age).not_to_have_text(before, timeout=5_000)
    expect(age).to_have_text(re.compile(r"^\d+s$"))

    # The reader opens the header's annotations: they stay open through the frames that change the header, also
    # those that carry the rollout's actions (htmx's to swap) beside it.
    annotations = header.locator("details.more")
    annotations.locator(":scope > summary").click()
    expect(annotations).to_have_attribute("open", "")

    # Scale: the new Pods appear, then the ready count follows, without a reload.
    page.evaluate("window.__notReloaded = true")
    target.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=5")
    expect(rows).to_have_count(5, timeout=TIMEOUT)
    expect(header).to_contain_text("5/5 ready", timeout=TIMEOUT)
    expect(annotations).to_have_attribute("open", "")
    # Paused: the header says so, and the actions offer Resume (a form htmx posts, so htmx swaps it) in the same
    # frame; what the reader opened stays open.
    actions = page.locator(f"#rollout-actions-{uid}")
    target.kubectl("rollout", "pause", "-n", "shop", "deploy/web")
    expect(header).to_contain_text("Rollout paused", timeout=TIMEOUT)
    expect(actions.get_by_role("button", name="Resume")).to_be_visible(timeout=TIMEOUT)
    expect(annotations).to_have_attribute("open", "")
    target.kubectl("rollout", "resume", "-n", "shop", "deploy/web")
    expect(actions.get_by_role("button", name="Pause")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(f"#tree-{uid} circle")).to_have_count(5)
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "live-2-scaled-to-five")

    # Delete a Pod: its row goes (the ReplicaSet makes another, which appears).
    victim = target.get_json("pods", "-n", "shop")["items"][0]["metadata"]
    target.kubectl("delete", "pod", "-n", "shop", victim["name"], "--wait=false")
    expect(page.locator(f"#pod-{victim['uid']}")).to_have_count(0, timeout=TIMEOUT)
    expect(rows).to_have_count(5, timeout=TIMEOUT)
    expect(page.locator(f"#events-{uid}")).to_contain_text("SuccessfulCreate", timeout=TIMEOUT)

    # A new template: the running Pods become "outdated", then the new ones replace them one by one.
    current, outdated = page.locator(f"#pods-{uid} .rev-current"), page.locator(f"#pods-{uid} .rev-outdated")
    expect(current.locator(".pod-row")).to_have_count(5, timeout=TIMEOUT)
    target.kubectl("set", "image", "-n", "shop", "deploy/web", "web=nginx:1.26")
    expect(outdated.locator(".pod-row").first).to_be_visible(timeout=TIMEOUT)
    expect(outdated).to_contain_text("image of container web")
    expect(page.locator(f"#template-{uid}")).to_contain_text("nginx:1.26")
    screenshot(page, "live-3-rollout-in-progress")
    expect(outdated).to_have_count(0, timeout=60_000)
    expect(current.locator(".pod-row")).to_have_count(5, timeout=TIMEOUT)
    expect(header).to_contain_text("5/5 ready", timeout=TIMEOUT)

    # And back: undo makes the first template current again, and the Pods move over once more.
    target.kubectl("rollout", "undo", "-n", "shop", "deploy/web")
    expect(outdated.locator(".pod-row").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(f"#template-{uid}")).to_contain_text("nginx:1.25", timeout=TIMEOUT)
    expect(outdated).to_have_count(0, timeout=60_000)
    expect(current.locator(".pod-row")).to_have_count(5, timeout=TIMEOUT)
    expect(current).to_contain_text("revision 3")
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "live-4-rolled-back")
    # Frames swapped single rows and groups: what the page shows now is what a fresh load of it shows.
    wait_for(lambda: page.evaluate(SAME_AS_A_FRESH_LOAD, f"pods-{uid}"), timeout=30, what="the page as a reload has it")
    # Every out-of-band piece of every frame found its place (a row htmx cannot parse would find none).
    assert page.evaluate("() => window.__swapsWithoutTarget") == []


def test_it_says_when_it_is_not_live_and_catches_up(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, person: User, tmp_path: Path
) -> None:
    web_with_three_ready_pods(target, cluster, start_worker)
    uid = open_web(page, asgi, person, cluster)
    indicator, rows = page.locator("#live-indicator"), page.locator(f"#pods-{uid} .pod-row")
    expect(rows).to_have_count(3)

    # The server goes away: the page says so, and keeps what it had.
    asgi.stop()
    page.wait_for_function("() => window.__liveStates.includes('reconnecting')", timeout=TIMEOUT)
    expect(indicator).not_to_have_attribute("data-state", "live")
    expect(indicator).to_contain_text(re.compile(r"(reconnecting…|offline) data as of"))
    screenshot(page, "live-5-reconnecting")

    # The cluster changes meanwhile; the mirror follows, the page cannot.
    target.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=4")
    wait_for(lambda: ready_pods_in_mirror(cluster, 4), timeout=60, what="4 ready Pods in the mirror")
    expect(rows).to_have_count(3)

    # Back on the same port: the page reconnects by itself and is exact again.
    asgi.start()
    expect(indicator).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    expect(rows).to_have_count(4, timeout=TIMEOUT)
    expect(page.locator(f"#workload-{uid}")).to_contain_text("4/4 ready")
    screenshot(page, "live-6-caught-up")

    # The cluster itself goes away: the page stays live, and says the cluster is not.
    target.stop()
    banner = page.locator(f"#cluster-banner-{cluster.id}")
    expect(banner).to_contain_text("Cluster dc is unreachable", timeout=TIMEOUT)
    expect(indicator).to_have_attribute("data-state", "live")
    screenshot(page, "live-7-cluster-unreachable")


# The age a <time data-age> should show now, by the page's own formatter, and whether the element shows it.
AGE_IS_RIGHT = """
(el) => el.textContent === window.podiumAge(Math.floor((Date.now() - Date.parse(el.getAttribute("datetime"))) / 1000))
"""


def test_an_age_off_screen_is_right_once_it_comes_into_view(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, person: User
) -> None:
    # The page counts the ages on screen every second, and one that comes into view at once (static/podium/ages.js).
    web_with_three_ready_pods(target, cluster, start_worker)
    page.set_viewport_size({"width": 1200, "height": 240})
    uid = open_web(page, asgi, person, cluster)
    age = page.locator(f"#pods-{uid} .pod-row time[data-age]").first
    below = age.evaluate("(el) => el.getBoundingClientRect().top - window.innerHeight")
    assert below > 400, f"the Pods are only {below} px below the window: this test needs them off screen"
    shown_at_load = age.text_content()
    # Long enough for a young Pod's age to read differently from what the server wrote.
    page.wait_for_function("() => performance.now() > 3500", timeout=TIMEOUT)
    age.scroll_into_view_if_needed()
    page.wait_for_function(AGE_IS_RIGHT, arg=age.element_handle(), timeout=3_000)
    assert age.text_content() != shown_at_load
