"""During a Redis outage an open page does not go on saying "live": its indicator says "not live" and why, and
when Redis is back the page is live (and exact) again. A Redis of this test's own (started, killed, started again
on the same port), the ASGI server using it, and Chromium; every wait is for a condition with a timeout."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.support import factories as f
from tests.support.stack import AsgiServer, Process, free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TIMEOUT = 20_000


class RedisServer(Process):
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        executable = shutil.which("redis-server")
        assert executable, "redis-server is required (the test command installs it)"
        args = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        super().__init__("redis", args, log_dir=tmp)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=10, what="redis-server")
        return self


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def asgi(tmp_path: Path, own_redis: RedisServer) -> Iterator[AsgiServer]:
    server = AsgiServer(tmp_path, REDIS_URL=own_redis.url).start()
    yield server
    server.stop()


@pytest.fixture
def person(db: None) -> User:
    user = User.objects.create_user("rita-redis", "rita@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="viewer"))
    return user


def test_the_page_says_not_live_and_why_while_redis_is_down(
    page: Page, own_redis: RedisServer, asgi: AsgiServer, person: User
) -> None:
    f.make_cluster("dc")
    log_in(page, asgi.url, person.username)
    page.goto(f"{asgi.url}/")
    indicator = page.locator("#live-indicator")
    expect(indicator).to_have_attribute("data-state", "live", timeout=TIMEOUT)

    own_redis.kill()
    expect(indicator).to_have_attribute("data-state", "notlive", timeout=TIMEOUT)
    expect(indicator).to_contain_text("not live: the message bus (Redis) does not answer")
    assert "Redis" in (indicator.get_attribute("title") or "")

    # A page opened meanwhile does not look live either.
    page.reload()
    expect(indicator).to_have_attribute("data-state", "notlive", timeout=TIMEOUT)
    expect(indicator).to_contain_text("not live: the message bus (Redis) does not answer")

    # Back on the same port: the page is live again, with the whole page sent again.
    own_redis.start()
    expect(indicator).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    expect(indicator).not_to_contain_text("not live")
