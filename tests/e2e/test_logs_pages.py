"""Reading and following logs in the browser: the full stack (a cluster, a Celery worker, Redis, the ASGI server).

The lines come from the cluster's ``pods/{name}/log``: democluster simulates what each container prints; on the
real control plane kube-apiserver asks kwok's kubelet-like server, which serves files the test writes (kwok runs
no process), appended to while a test follows. Every wait is for a condition with a timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, screenshot
from tests.support.clusters import FLAVORS, Kubernetes, TargetCluster, started
from tests.support.stack import AsgiServer, wait_for
from workloads.models import Cluster, Pod, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: logs}
---
apiVersion: batch/v1
kind: Job
metadata: {name: hello, namespace: logs}
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - {name: hello, image: "busybox:1.28", command: ["sh", "-c", "echo \\"Hello, Kubernetes!\\" && sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: two-containers, namespace: logs}
spec:
  initContainers:
  - {name: prepare, image: "busybox:1.28", command: ["sh", "-c", "echo preparing the page; sleep 1"]}
  containers:
  - {name: nginx, image: "nginx:1.25"}
  - {name: ticker, image: "busybox:1.28", command: ["sh", "-c", "while true; do echo tick; sleep 1; done"]}
---
apiVersion: v1
kind: Pod
metadata: {name: chatty, namespace: logs, annotations: {democluster.podium.dev/log-rate: "5"}}
spec:
  containers: [{name: app, image: "ghcr.io/acme/app:1.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: crasher, namespace: logs, annotations: {democluster.podium.dev/crash: "exit=3"}}
spec:
  containers: [{name: app, image: "ghcr.io/acme/app:1.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostile, namespace: logs}
spec:
  containers:
  - name: app
    image: "busybox:1.28"
    command: ["sh", "-c", "echo '<script>window.__pwned = 1</script><img src=x onerror=window.__pwned=2>'; sleep 9"]
"""

ROLLOUT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: logs}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {democluster.podium.dev/log-rate: "2"}}
    spec:
      containers:
      - name: web
        image: "nginx:1.25"
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
"""


@pytest.fixture(params=FLAVORS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TargetCluster]:
    with started(request, tmp_path, namespaces=("logs",)) as target:
        yield target


def says(target: TargetCluster, pod: str, container: str, lines: list[str], previous: list[str] | None = None) -> None:
    """On the real control plane, what the container printed (democluster simulates it from the command)."""
    if isinstance(target, Kubernetes):
        target.cluster.container_log("logs", pod, container, lines, previous=previous)


class Appender(threading.Thread):
    """Appends lines to the files kwok serves, as running containers would write them (real control plane)."""

    def __init__(self, target: TargetCluster, pods: list[tuple[str, str]], rate: float) -> None:
        super().__init__(daemon=True)
        self.target, self.pods, self.rate, self.stop = target, pods, rate, False

    def run(self) -> None:
        if not isinstance(self.target, Kubernetes):
            return
        folder = self.target.cluster.directory / "container-logs"
        n = 0
        while not self.stop:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            for pod, container in self.pods:
                with open(folder / f"logs_{pod}_{container}.log", "a") as out:
                    out.write(f'{stamp}.{n:09d}Z stdout F 10.244.0.{n % 250} - - "GET /item/{n} HTTP/1.1" 200\n')
            n += 1
            time.sleep(1 / self.rate)


@pytest.fixture
def reader(db: None) -> User:
    """A viewer (who may read logs, as every viewer may by default), with a real password hash."""
    user = User.objects.create_user("rita-reader", "rita@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="viewer"))
    return user


def running(cluster: Cluster, name: str) -> bool:
    pod = Pod.objects.filter(cluster=cluster, namespace="logs", name=name, deleted_at__isnull=True).first()
    return bool(pod and pod.phase == "Running")


def restarted(cluster: Cluster, name: str) -> bool:
    pod = Pod.objects.filter(cluster=cluster, namespace="logs", name=name, deleted_at__isnull=True).first()
    statuses = ((pod.raw or {}).get("status") or {}).get("containerStatuses") or [] if pod else []
    return any(s.get("restartCount", 0) >= 1 and (s.get("lastState") or {}).get("terminated") for s in statuses)


def hello_pod(cluster: Cluster) -> str | None:
    """The hello Job's Pod, once started (kwok completes a Job's Pod after about 2 s whatever its command)."""
    pod = Pod.objects.filter(
        cluster=cluster, namespace="logs", owner_name="hello", phase__in=["Running", "Succeeded"]
    ).first()
    return pod.name if pod else None


def test_it_reads_follows_and_refuses_bad_input_on_the_pod_page(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, reader: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=PODS)
    for name in ("two-containers", "chatty", "hostile"):
        wait_for(lambda name=name: running(cluster, name), timeout=60, what=f"{name} running in the mirror")
    hello = wait_for(lambda: hello_pod(cluster), timeout=60, what="the hello Job's Pod")
    wait_for(lambda: restarted(cluster, "crasher"), timeout=60, what="crasher to restart")
    says(target, hello, "hello", ["Hello, Kubernetes!"])
    says(target, "two-containers", "prepare", ["preparing the page"])
    says(target, "two-containers", "nginx", ["/docker-entrypoint.sh: Configuration complete; ready for start up"])
    says(target, "chatty", "app", [f'10.244.0.{i} - - "GET /start/{i} HTTP/1.1" 200' for i in range(60)])
    says(target, "crasher", "app", ["starting"], previous=["level=error msg=boom", "panic: boom", "exit status 3"])
    says(target, "hostile", "app", ["<script>window.__pwned = 1</script><img src=x onerror=window.__pwned=2>"])
    appender = Appender(target, [("chatty", "app")], rate=5)
    appender.start()
    page.on("pageerror", lambda error: pytest.fail(f"script error on the page: {error}"))
    log_in(page, asgi.url, reader.username)
    base = f"{asgi.url}/c/{cluster.name}/ns/logs/pods"

    # The docs' hello Job: from the Pod page's Logs button, one click.
    page.goto(f"{base}/{hello}/")
    page.get_by_role("link", name="Logs", exact=True).click()
    expect(page.locator("#log-lines .log-text")).to_have_text(["Hello, Kubernetes!"])
    screenshot(page, "logs-1-hello")

    # Several containers and no choice: the page offers the picker, init container and all.
    page.goto(f"{base}/two-containers/logs/")
    expect(page.locator(".log-pick")).to_contain_text("3 containers")
    options = page.locator("select[name=container] option")
    expect(options).to_have_count(4)
    expect(options.nth(1)).to_contain_text("prepare (init container")
    expect(page.locator("#log-lines")).to_have_count(0)
    page.select_option("select[name=container]", "prepare")
    page.click("button:has-text('Read')")
    expect(page.locator("#log-lines .log-text")).to_have_text(["preparing the page"])
    page.select_option("select[name=container]", "nginx")
    page.click("button:has-text('Read')")
    expect(page.locator("#log-lines")).to_contain_text("Configuration complete; ready for start up")
    screenshot(page, "logs-2-picker")

    # Following: new lines arrive without a reload; stopping stops them.
    page.goto(f"{base}/chatty/logs/?tail=5&timestamps=on")
    lines = page.locator("#log-lines .log-line")
    expect(lines).to_have_count(5)
    page.evaluate("window.__notReloaded = true")
    page.click("button.log-follow")
    expect(page.locator(".log-live")).to_have_attribute("data-state", "following", timeout=TIMEOUT)
    page.wait_for_function("() => document.querySelectorAll('#log-lines .log-line').length >= 10", timeout=TIMEOUT)
    stamps = page.locator("#log-lines .log-line time").all_text_contents()
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # in order, none twice
    assert page.evaluate("window.__notReloaded") is True
    page.click("button.log-pause")
    expect(page.locator("button.log-pause")).to_have_text("Resume auto-scroll")
    screenshot(page, f"logs-3-following-{target.flavor}")
    page.click("button.log-follow")
    expect(page.locator(".log-live")).to_have_attribute("data-state", "stopped", timeout=TIMEOUT)

    # Search highlights matches, as you type and without JavaScript's help (server-side <mark>).
    page.goto(f"{base}/chatty/logs/?tail=50&q=GET")
    expect(page.locator("#log-lines mark").first).to_have_text("GET")
    marked = page.locator("#log-lines .log-line:has(mark)").count()
    assert marked > 5
    expect(page.locator("p.log-matches")).to_have_text(f"{marked} lines match “GET”.")
    page.fill("input[name=q]", "healthz")  # as you type: the page's own highlighting takes over
    page.wait_for_function("() => document.querySelector('p.log-matches').textContent.includes('healthz')")

    # A crashing container: its previous instance shows its last lines.
    page.goto(f"{base}/crasher/logs/?container=app&previous=on")
    expect(page.locator("#log-lines .log-text").last).to_have_text("exit status 3")
    expect(page.locator("#log-lines")).to_contain_text("panic: ")
    screenshot(page, "logs-4-previous")

    # A <script> in a log line is text.
    page.goto(f"{base}/hostile/logs/")
    expect(page.locator("#log-lines")).to_contain_text("<script>window.__pwned = 1</script><img src=x")
    expect(page.locator("#log-lines script, #log-lines img")).to_have_count(0)
    page.click("button.log-follow")
    expect(page.locator(".log-live")).to_have_attribute("data-state", "following", timeout=TIMEOUT)
    assert page.evaluate("window.__pwned") is None

    # Bad input: a clear message, never a server error.
    for query, message in [
        ("container=app&tail=-1", "Ask for at least 1 line."),
        ("container=app&tail=100000000", "At most 10000 lines can be shown at once"),
        ("container=nope", "This Pod has no container nope"),
        ("container=app&previous=on", "Container app has not restarted: there is no previous instance to read."),
    ]:
        response = page.goto(f"{base}/hostile/logs/?{query}")
        assert response is not None and response.status == 200, query
        expect(page.locator(".log-errors")).to_contain_text(message)
    # The cluster's own refusal, in its words: a container still waiting to start.
    target.kubectl(
        "apply", "-f", "-",
        input="apiVersion: v1\nkind: Pod\nmetadata: {name: stuck, namespace: logs}\n"
        "spec: {containers: [{name: app, image: 'nginx:1.99-typo'}]}\n",
    )  # fmt: skip
    wait_for(lambda: Pod.objects.filter(cluster=cluster, name="stuck").exists(), timeout=30, what="stuck mirrored")
    page.goto(f"{base}/stuck/logs/")
    if target.flavor == "democluster":
        expect(page.locator(".log-problem")).to_contain_text('container "app" in pod "stuck" is waiting to start')
    else:  # kwok is no kubelet: it answers from its Logs objects and knows none for this Pod
        expect(page.locator(".log-problem")).to_contain_text('no logs found for container "app" in pod "logs/stuck"')
    screenshot(page, f"logs-5-waiting-{target.flavor}")
    appender.stop = True


def test_the_workload_view_merges_both_revisions_of_a_rollout_and_filters_by_revision(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, reader: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=PODS.split("---")[0] + "---" + ROLLOUT)
    target.kubectl("rollout", "status", "-n", "logs", "deploy/web", "--timeout=60s", timeout=90)
    # A new template whose Pods never become ready: the rollout stops with Pods of both revisions.
    target.kubectl(
        "patch", "-n", "logs", "deploy/web", "--type=merge", "-p",
        '{"spec":{"template":{"metadata":{"annotations":{"democluster.podium.dev/never-ready":"true"}}}}}',
    )  # fmt: skip

    def both_revisions() -> tuple[set[str], set[str]] | None:
        web = Workload.objects.filter(
            cluster=cluster, kind="Deployment", namespace="logs", name="web", deleted_at__isnull=True
        ).first()
        if web is None:
            return None
        pods = Pod.objects.filter(cluster=cluster, workload_uid=web.uid, deleted_at__isnull=True, phase="Running")
        hashes = {p.template_hash for p in pods}
        if len(hashes) != 2:
            return None
        # The new revision's Pods are the ones that never become ready.
        new = {p.name for p in pods if not p.ready}
        old = {p.name for p in pods if p.ready}
        return (old, new) if new and len(old) == 3 else None

    old, new = wait_for(both_revisions, timeout=60, what="Pods of two revisions")
    for name in old | new:
        says(target, name, "web", [f"{name} started", f"{name} listening on :80"])
    appender = Appender(target, [(name, "web") for name in new], rate=2)
    appender.start()
    log_in(page, asgi.url, reader.username)
    page.goto(f"{asgi.url}/c/{cluster.name}/ns/logs/deployment/web/")
    page.get_by_role("link", name="Logs", exact=True).click()
    sources = page.locator("#log-lines .log-src")
    expect(sources.first).to_be_visible()
    shown = {s.split("/")[0] for s in sources.all_text_contents()}
    assert shown == old | new
    expect(page.locator(".log-pods .chip")).to_have_count(4)
    screenshot(page, f"logs-6-workload-both-revisions-{target.flavor}")

    page.select_option("select[name=revision]", "current")
    page.click("button:has-text('Read')")
    expect(page.locator(".log-pods .chip")).to_have_count(len(new))
    shown = {s.split("/")[0] for s in sources.all_text_contents()}
    assert shown == new
    # And following it brings only the new Pods' lines.
    page.click("button.log-follow")
    before = sources.count()
    expect(sources).not_to_have_count(before, timeout=TIMEOUT)
    assert {s.split("/")[0] for s in sources.all_text_contents()} == new
    screenshot(page, "logs-7-workload-current-revision")

    # An outdated revision is a choice too, and shows the old Pods only.
    outdated = page.locator("select[name=revision] option", has_text="outdated revision")
    page.select_option("select[name=revision]", outdated.get_attribute("value"))
    page.click("button:has-text('Read')")
    assert {s.split("/")[0] for s in sources.all_text_contents()} == old
    appender.stop = True


def test_a_viewer_without_the_logs_permission_is_refused_page_and_socket(
    page: Page, target: TargetCluster, cluster: Cluster, start_worker, asgi: AsgiServer, reader: User
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=PODS)
    wait_for(lambda: running(cluster, "chatty"), timeout=60, what="chatty running in the mirror")
    says(target, "chatty", "app", ["hello from chatty"])
    log_in(page, asgi.url, reader.username)
    url = f"{asgi.url}/c/{cluster.name}/ns/logs/pods/chatty/logs/?container=app"
    page.goto(url)
    expect(page.locator("#log-lines .log-line").first).to_be_visible()

    # An admin takes the permission from the viewer role.
    Group.objects.get(name="viewer").permissions.remove(Permission.objects.get(codename="view_logs"))
    response = page.goto(url)
    assert response is not None and response.status == 403
    expect(page.locator(".log-forbidden")).to_contain_text("Reading logs is a permission of its own")
    page.goto(f"{asgi.url}/c/{cluster.name}/ns/logs/pods/chatty/")
    expect(page.get_by_role("link", name="Logs", exact=True)).to_have_count(0)
    code = page.evaluate(
        """(url) => new Promise((resolve) => {
            const socket = new WebSocket(url);
            socket.onclose = (event) => resolve(event.code);
        })""",
        f"ws://127.0.0.1:{asgi.port}/ws/logs/?cluster={cluster.name}&namespace=logs&pod=chatty&container=app",
    )
    assert code == 4403
