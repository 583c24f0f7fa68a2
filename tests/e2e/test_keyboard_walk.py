"""Browse -> edit -> preview -> apply -> rollout with the keyboard alone, in Chinese, on the full stack (the target
cluster, a Celery worker, Redis, the ASGI server, Chromium). Screenshots of each step go to the test's tmp dir."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ARTIFACTS
from tests.support.clusters import TargetCluster
from tests.support.manifests import documents, shop_web
from tests.support.stack import AsgiServer, wait_for
from workloads.models import Cluster, Pod, Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60
WEB = documents(*shop_web(replicas=2))


def focused(page: Page) -> dict:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return {id: e.id, name: e.getAttribute('name') || '', text: (e.textContent || '').trim(),"
        " href: e.getAttribute('href') || '', tag: e.tagName}; }"
    )


def tab_to(page: Page, wanted: dict, limit: int = 120) -> None:
    """Press Tab until the focused element has the wanted id, name or text (as a person tabs through a form)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if all(now.get(k) == v for k, v in wanted.items()):
            return
    pytest.fail(f"Tab never reached {wanted}")


def shoot(page: Page, folder: Path, name: str) -> Path:
    """Into the test's tmp dir, and a copy in test-artifacts/ (kept after pytest prunes its old tmp dirs)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    kept = ARTIFACTS / f"keyboard-walk-{folder.parent.name}"
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, kept / path.name)
    return path


def test_the_whole_walk_with_the_keyboard_in_chinese(
    browser: Browser,
    target: TargetCluster,
    cluster: Cluster,
    start_worker,
    asgi: AsgiServer,
    editor: User,
    tmp_path: Path,
) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=WEB)

    def ready(n: int, image: str) -> Workload | None:
        w = Workload.objects.filter(
            cluster=cluster, kind="Deployment", namespace="shop", name="web", deleted_at__isnull=True
        ).first()
        pods = Pod.objects.filter(cluster=cluster, namespace="shop", deleted_at__isnull=True, ready=True)
        return w if w and w.ready_replicas == n and [p for p in pods if image in str(p.raw)] else None

    wait_for(lambda: ready(2, "nginx:1.25"), timeout=TIMEOUT, what="web ready in the mirror")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()

    # Log in: the username field has the focus; Tab to the password, Enter submits.
    page.goto(f"{asgi.url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.keyboard.type(editor.username)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="总览", exact=True)).to_be_visible()
    shoot(page, shots, "1-overview")

    # g w: the cluster's workloads; / focuses the search, which typing never leaves by a shortcut.
    page.keyboard.press("g")
    page.keyboard.press("w")
    expect(page.locator("h1")).to_have_text("dc 中的工作负载")
    page.keyboard.press("/")
    assert focused(page)["name"] == "q"
    page.keyboard.type("jk")  # j and k are letters here, not moves
    expect(page.locator("input[name=q]")).to_have_value("jk")
    table = page.locator("#workload-table")
    expect(table).to_contain_text("没有匹配的工作负载。")  # the search ran (htmx, as you type)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    expect(table).to_contain_text("web")
    expect(page).to_have_url(re.compile(r"[?&]q=(&|$)"))  # the emptied search's answer is the one shown
    page.keyboard.press("Escape")  # out of the field, back to the page's shortcuts
    assert focused(page)["tag"] == "BODY"

    # ? lists every shortcut; Esc closes the list.
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-help")
    expect(dialog).to_be_visible()
    for keys in ("/", "g", "j", "Enter", "e", "l", "?"):
        expect(dialog.locator("kbd", has_text=re.compile(f"^{re.escape(keys)}$")).first).to_be_visible()
    shoot(page, shots, "2-shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # j chooses the first row (its link has the visible focus); Enter opens it.
    page.keyboard.press("j")
    assert focused(page)["href"] == "/c/dc/ns/shop/deployment/web/"
    expect(page.locator("tr.kb-current")).to_have_count(1)
    shoot(page, shots, "3-row-chosen")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{asgi.url}/c/dc/ns/shop/deployment/web/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    expect(page.locator("#live-indicator .live-state")).to_have_text("实时")

    # e: the edit form. Tab to the image, change it, Tab to "Preview changes", Enter.
    page.keyboard.press("e")
    page.wait_for_url(f"{asgi.url}/c/dc/ns/shop/deployment/web/edit/")
    tab_to(page, {"id": "id_containers-0-image"})
    page.keyboard.press("Control+A")
    page.keyboard.type("nginx:1.26")
    shoot(page, shots, "4-edit")
    tab_to(page, {"text": "预览更改"})
    page.keyboard.press("Enter")
    expect(page.locator("#diff-table")).to_contain_text("spec.template.spec.containers[web].image")
    expect(page.locator("#diff-table")).to_contain_text("nginx:1.26")
    expect(page.locator("#rollout-note")).to_contain_text("开始一次发布")
    shoot(page, shots, "5-preview")

    # Apply, by the keyboard; the rollout follows live on the workload page, in Chinese.
    tab_to(page, {"text": "应用"})
    page.keyboard.press("Enter")
    page.wait_for_url(f"{asgi.url}/c/dc/ns/shop/deployment/web/")
    expect(page.locator(".messages")).to_contain_text("已应用到 Deployment web")
    panel = page.locator("section[id^='rollout-']")
    expect(panel).to_contain_text("已完成：修订版本 2 运行在 2 / 2 个 Pod 上", timeout=TIMEOUT * 1000)
    expect(panel.locator(".rollout-state")).to_have_text("已完成")
    shoot(page, shots, "6-rolled-out")
    image = target.get_json("deploy/web", "-n", "shop")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:1.26"

    # l: the workload's logs; g o: back to the overview.
    page.keyboard.press("l")
    page.wait_for_url(re.compile(r".*/deployment/web/logs/$"))
    shoot(page, shots, "7-logs")
    page.keyboard.press("g")
    page.keyboard.press("o")
    page.wait_for_url(f"{asgi.url}/")
    context.close()
    print(f"screenshots: {shots}")
