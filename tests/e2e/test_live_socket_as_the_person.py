"""The live socket, over a real WebSocket to the ASGI server (uvicorn), as alice on a cluster that acts as her
(tests/support/impersonation.py): a subscription to imp-demo, which the cluster does not let her list, is refused
at the handshake however it is dressed up; a forged subscription message gets her nothing of it while a change
there is published; and when a cluster admin removes her RoleBinding with kubectl, an open socket on imp-shop
closes and the overview's drops imp-shop, within the access cache time. On democluster and the real control
plane."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support.impersonation import HIDDEN, SHOP, Target
from tests.support.stack import AsgiServer
from workloads.live import publish as live
from workloads.live import subscriptions
from workloads.models import Cluster, Workload
from workloads.sync.watcher import sync_once

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CACHE_SECONDS = 2
RECHECK_SECONDS = 1
# The cache time and a recheck, and what a loaded two-core machine may add on top of them.
WITHIN = CACHE_SECONDS + RECHECK_SECONDS + 12

SHOP_BINDING = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dev, namespace: {SHOP}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}}]
"""


@pytest.fixture
def asgi(tmp_path: Path) -> Iterator[AsgiServer]:
    """The ASGI server, remembering what the cluster says for CACHE_SECONDS and rechecking sockets every second."""
    server = AsgiServer(
        tmp_path, PODIUM_ACCESS_CACHE_SECONDS=str(CACHE_SECONDS), PODIUM_LIVE_RECHECK_SECONDS=str(RECHECK_SECONDS)
    ).start()
    yield server
    server.stop()


def open_socket(asgi: AsgiServer, person: Client, groups: list[str], page: str) -> ClientConnection:
    url = asgi.url.replace("http://", "ws://") + subscriptions.page_url(groups, page)
    cookie = f"{settings.SESSION_COOKIE_NAME}={person.cookies[settings.SESSION_COOKIE_NAME].value}"
    return connect(url, additional_headers={"Cookie": cookie, "Origin": asgi.url}, open_timeout=15)


def frames_until(socket: ClientConnection, done: Callable[[list[str]], bool], timeout: float, what: str) -> list[str]:
    """The frames the socket sends until ``done(frames)``; fail after ``timeout`` seconds without it."""
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; got {len(frames)} frames")
        try:
            frames.append(socket.recv(timeout=left))
        except TimeoutError:
            continue
    return frames


def test_a_socket_gets_nothing_of_a_namespace_the_cluster_hides(
    imp_target: Target, imp_cluster: Cluster, alice: Client, asgi: AsgiServer
) -> None:
    secret_web = Workload.objects.get(cluster=imp_cluster, namespace=HIDDEN, name="secret-web")
    hidden, shop = live.namespace_group(imp_cluster.id, HIDDEN), live.namespace_group(imp_cluster.id, SHOP)
    for groups, page in (
        ([hidden], f"/c/demo/ns/{HIDDEN}/"),
        ([shop, hidden], f"/c/demo/ns/{SHOP}/"),  # one hidden group among allowed ones
        ([live.workload_group(imp_cluster.id, secret_web.uid)], f"/c/demo/ns/{HIDDEN}/deployment/secret-web/"),
        ([shop], f"/c/demo/ns/{HIDDEN}/"),  # an allowed group, for a hidden page
    ):
        with pytest.raises(InvalidStatus) as refused:
            open_socket(asgi, alice, groups, page)
        assert refused.value.response.status_code == 403, (groups, page)

    with open_socket(asgi, alice, [live.cluster_group(imp_cluster.id), shop], f"/c/demo/ns/{SHOP}/") as socket:
        first = frames_until(socket, lambda f: any('id="workload-table"' in x for x in f), 15, "the workload table")
        assert any(">web<" in f for f in first)
        # Forged subscriptions: the socket takes none of them (a refresh sends imp-shop's page again).
        socket.send(json.dumps({"sub": hidden}))
        socket.send(json.dumps({"subscribe": [hidden], "page": f"/c/demo/ns/{HIDDEN}/"}))
        socket.send(json.dumps({"refresh": True, "sub": hidden, "page": f"/c/demo/ns/{HIDDEN}/"}))
        # A change in each namespace, published by the sync as it mirrors them.
        imp_target.cluster.kubectl("set", "image", "deployment/secret-web", "-n", HIDDEN, "app=nginx:1.29-hidden")
        imp_target.cluster.kubectl("set", "image", "deployment/web", "-n", SHOP, "app=nginx:1.29-shop")
        sync_once(imp_cluster, ["Deployment"])
        later = frames_until(socket, lambda f: any("nginx:1.29-shop" in x for x in f), 20, "imp-shop's change")
    for frame in first + later:
        assert "secret-web" not in frame and "1.29-hidden" not in frame and HIDDEN not in frame


def test_an_open_socket_follows_a_role_change_within_the_cache_time(
    imp_target: Target, imp_cluster: Cluster, alice: Client, asgi: AsgiServer
) -> None:
    shop = live.namespace_group(imp_cluster.id, SHOP)
    on_shop = open_socket(asgi, alice, [live.cluster_group(imp_cluster.id), shop], f"/c/demo/ns/{SHOP}/")
    overview = open_socket(
        asgi, alice, [live.cluster_group(imp_cluster.id), live.all_namespaces_group(imp_cluster.id)], "/"
    )  # fmt: skip
    try:
        frames_until(on_shop, lambda f: any('id="workload-table"' in x for x in f), 15, "imp-shop's page")
        frames_until(overview, lambda f: any(f">{SHOP}<" in x for x in f), 15, "the overview with imp-shop")

        imp_target.cluster.kubectl("delete", "rolebinding", "dev", "-n", SHOP)
        removed = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            frames_until(on_shop, lambda f: False, WITHIN, "the imp-shop socket to close")
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        said = frames_until(overview, lambda f: any("list nothing" in x for x in f), WITHIN, "imp-shop to leave")
        assert time.monotonic() - removed <= WITHIN
        assert f">{SHOP}<" not in said[-1]
        assert "alice (groups: dev, editor) list nothing in any namespace" in said[-1]
    finally:
        imp_target.cluster.kubectl("apply", "-f", "-", input=SHOP_BINDING)
        on_shop.close()
        overview.close()
