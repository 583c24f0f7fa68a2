"""The page's language: the browser's Accept-Language, or the header's switcher (remembered in a cookie); the live
socket's swaps speak the page's language; durations and dates follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from tests.support import factories as f
from tests.support.sockets import ORIGIN, connect, cookie_for, frames, workload_socket
from workloads.browse import presenters

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.fixture
def demo(db: None) -> dict:
    cluster = f.make_cluster("demo")
    f.make_namespace(cluster, "demo")
    deploy, old_rs, new_rs, pods = f.rollout(cluster, "demo", "web", old_pods=2, new_pods=2)
    return {"cluster": cluster, "deploy": deploy, "new_rs": new_rs, "pods": pods}


def test_it_speaks_english_without_a_preference(viewer_client: Client, demo: dict) -> None:
    html = viewer_client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Overview" in html and "总览" not in html


def test_it_speaks_chinese_to_a_browser_that_asks_for_it(viewer_client: Client, demo: dict) -> None:
    html = viewer_client.get("/", **CHINESE).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "总览" in html and ">Overview<" not in html
    # The switcher says which language is on, each in its own words.
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in html
    assert '<option value="en" lang="en">English</option>' in html


def test_it_remembers_the_switchers_choice(viewer_client: Client, demo: dict) -> None:
    response = viewer_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/c/demo/workloads/"})
    assert response.status_code == 302 and response["Location"] == "/c/demo/workloads/"
    assert viewer_client.cookies["django_language"].value == "zh-hans"
    # The cookie wins over the browser's own preference, on every page after.
    html = viewer_client.get("/c/demo/workloads/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in html and "demo 中的工作负载" in html
    viewer_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Workloads in demo" in viewer_client.get("/c/demo/workloads/", **CHINESE).content.decode()


def test_it_switches_on_the_login_page_too(client: Client, db: None) -> None:
    html = client.get("/login/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录 Podium" in client.get("/login/").content.decode()


def test_it_refuses_a_switch_without_its_csrf_token(viewer: User, demo: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 403
    assert "django_language" not in client.cookies


def test_it_ignores_a_language_it_does_not_have_and_an_outside_next(viewer_client: Client, demo: dict) -> None:
    response = viewer_client.post("/i18n/setlang/", {"language": "xx", "next": "https://evil.example.com/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "django_language" not in viewer_client.cookies


def test_it_writes_durations_and_dates_in_the_readers_language() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert presenters.age(now - timedelta(minutes=5, seconds=30), now) == "5m30s"
    assert presenters.age(now - timedelta(days=2, hours=3), now) == "2d3h"
    with translation.override("zh-hans"):
        assert presenters.age(now - timedelta(minutes=5, seconds=30), now) == "5分30秒"
        assert presenters.age(now - timedelta(days=2, hours=3), now) == "2天3小时"
        from django.utils import formats

        assert formats.date_format(now, "DATE_FORMAT") == "2026年12月1日"
    assert formats.date_format(now, "DATE_FORMAT") == "Dec. 1, 2026"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("headers", "heading", "other"),
    [
        ([], "Pod template", "Pod 模板"),
        ([(b"accept-language", b"zh-Hans,zh;q=0.9")], "Pod 模板", "Pod template"),
        ([(b"accept-language", b"en"), "zh-hans"], "Pod 模板", "Pod template"),  # the switcher's cookie wins
    ],
)
async def test_the_live_socket_renders_in_the_pages_language(demo: dict, viewer: User, headers, heading, other) -> None:
    name, session = await sync_to_async(cookie_for)(viewer)
    if "zh-hans" in headers:
        headers = [h for h in headers if h != "zh-hans"]
        session += b"; django_language=zh-hans"
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, (name, session), *headers)
    assert connected
    page = "".join(await frames(communicator))
    await communicator.disconnect()
    assert heading in page and other not in page
