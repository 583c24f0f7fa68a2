"""Followed logs: one upstream stream per (cluster, Pod, container) shared by every viewer, closed when the last
leaves; frames batched; log text never markup. Through the real ASGI stack, against democluster."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from dashboard.asgi import application
from tests.support.clusters import cluster_row
from tests.support.sockets import cookie_for
from tests.support.stack import Democluster, wait_for
from workloads.logs import streams
from workloads.logs.text import parse_line
from workloads.models import Cluster
from workloads.sync.watcher import sync_once

CHATTY = """
apiVersion: v1
kind: Pod
metadata: {name: chatty, namespace: default, annotations: {democluster.podium.dev/log-rate: "20"}}
spec:
  containers: [{name: app, image: "registry.example/app:1"}]
"""


def test_ansi_colours_become_classes_and_everything_else_is_dropped() -> None:
    line = parse_line("2026-12-01T10:00:00.5Z \x1b[1;31mERROR\x1b[0m <script>x</script>\x1b]0;title\x07\x07 done")
    assert line.stamp == "2026-12-01T10:00:00.5Z"
    assert line.segments == [("ansi-bold ansi-red", "ERROR"), ("", " <script>x</script> done")]
    assert line.text == "ERROR <script>x</script> done"
    assert parse_line("\x1b[38;5;208morange\x1b[39m \x1b[2Kcleared").segments == [("", "orange"), ("", " cleared")]


@pytest.fixture(scope="module")
def chatty_democluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Democluster]:
    dc = Democluster(tmp_path_factory.mktemp("logs-streams"), "--fresh", "--no-scenario").start()
    dc.kubectl("apply", "-f", "-", input=CHATTY)
    wait_for(
        lambda: dc.get_json("pod", "chatty", "-n", "default").get("status", {}).get("phase") == "Running",
        timeout=30,
        what="chatty running",
    )
    yield dc
    dc.stop()


@pytest.fixture
def cluster(chatty_democluster: Democluster, transactional_db: None) -> Cluster:
    cluster = cluster_row(chatty_democluster)
    sync_once(cluster, ["Pod"])
    return cluster


async def open_socket(cookie: tuple[bytes, bytes], query: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/logs/?{query}", headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"), cookie]
    )
    connected, code = await communicator.connect(timeout=5)
    assert connected, code
    return communicator


async def frames_for(communicator: WebsocketCommunicator, seconds: float) -> list[dict]:
    """Every frame for ``seconds`` (receive_nothing waits without ending the socket, as a timed-out receive would)."""
    got, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not await communicator.receive_nothing(timeout=min(left, 0.3), interval=0.01):
            got.append(json.loads(await communicator.receive_from(timeout=1)))
    return got


@pytest.mark.django_db(transaction=True)
async def test_viewers_share_one_upstream_that_closes_when_the_last_leaves(cluster: Cluster, viewer: User) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    query = f"cluster={cluster.name}&namespace=default&pod=chatty&container=app"
    hub = streams.hub()
    opened = hub.opened
    first = await open_socket(cookie, query)
    second = await open_socket(cookie, query)
    assert hub.opened == opened + 1
    upstream = hub.upstreams[(cluster.id, "default", "chatty", "app")]
    assert len(upstream.subscribers) == 2

    a, b = await asyncio.gather(frames_for(first, 2.0), frames_for(second, 2.0))
    for frames in (a, b):
        lines = [line for frame in frames for line in frame["lines"]]
        assert len(lines) >= 20  # the ring's recent lines, then 20 a second
        assert all(line["p"] == "chatty" and line["c"] == "app" for line in lines)
        assert [line["t"] for line in lines] == sorted(line["t"] for line in lines)
        assert len(frames) <= 22  # batched: at most ten frames a second

    await first.disconnect()
    assert not upstream.closed.is_set()
    await second.disconnect()
    assert upstream.closed.is_set()
    assert (cluster.id, "default", "chatty", "app") not in hub.upstreams
    await asyncio.to_thread(upstream.thread.join, 5)
    assert not upstream.thread.is_alive()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_for_what_the_mirror_does_not_know_closes_with_4404(cluster: Cluster, viewer: User) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator = await open_socket(cookie, f"cluster={cluster.name}&namespace=default&pod=chatty&container=nope")
    output = await communicator.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4404}
