"""With more namespaces than a socket may subscribe to groups (64), the overview and the all-namespaces list still
follow every namespace: they subscribe to one cluster-wide group, which every batch that touches a namespace reaches.
Through the real ASGI stack and the Redis channel layer, with changes published as the sync layer publishes them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from tests.support import factories as f
from tests.support.sockets import ORIGIN, connect, cookie_for, frames
from workloads.live import publish as live
from workloads.live import subscriptions
from workloads.live.publish import Changed

pytestmark = [pytest.mark.django_db(transaction=True)]
NAMESPACES = [f"team-{i:03d}" for i in range(subscriptions.MAX_SUBSCRIPTIONS + 16)]


@pytest.fixture
def many() -> object:
    cluster = f.make_cluster("big")
    for name in NAMESPACES:
        f.make_namespace(cluster, name)
    return cluster


def socket_path(client: Client, page: str) -> str:
    html = client.get(page).content.decode()
    start = html.index('ws-connect="') + len('ws-connect="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


@pytest.mark.parametrize("page", ["/", "/c/big/workloads/"])
async def test_a_page_of_every_namespace_follows_the_last_one_too(
    many: object, viewer: User, layer: object, page: str
) -> None:
    client = await sync_to_async(Client)()
    await sync_to_async(client.force_login)(viewer)
    path = await sync_to_async(socket_path)(client, page)
    groups = parse_qs(urlsplit(path).query)["sub"]
    assert live.all_namespaces_group(many.id) in groups and len(groups) <= subscriptions.MAX_SUBSCRIPTIONS

    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(path, ORIGIN, cookie)
    assert connected
    await frames(communicator)

    # A Deployment appears in the last namespace: the open page shows it.
    last = NAMESPACES[-1]
    deploy = await sync_to_async(f.make_deployment)(many, last, "late-arrival")
    await sync_to_async(live.publish)(
        many.id, Changed(namespaces={last}, workload_uids={deploy.uid}, kinds={"Deployment"})
    )
    got = await frames(communicator)
    assert got, f"no frame for a change in {last}"
    assert last in "".join(got)
    if page == "/c/big/workloads/":
        assert f'id="workload-{deploy.uid}"' in "".join(got)
    await communicator.disconnect()


def test_a_namespace_page_follows_its_own_namespace(many: object, viewer_client: Client) -> None:
    path = socket_path(viewer_client, f"/c/big/ns/{NAMESPACES[-1]}/")
    groups = parse_qs(urlsplit(path).query)["sub"]
    assert groups == [live.cluster_group(many.id), live.namespace_group(many.id, NAMESPACES[-1])]


def test_the_overview_says_which_clusters_it_does_not_follow(viewer_client: Client) -> None:
    clusters = [f.make_cluster(f"c{i:02d}") for i in range(subscriptions.MAX_SUBSCRIPTIONS // 2 + 2)]
    html = viewer_client.get("/").content.decode()
    groups = parse_qs(urlsplit(socket_path(viewer_client, "/")).query)["sub"]
    unfollowed = [c for c in clusters if live.all_namespaces_group(c.id) not in groups]
    assert len(unfollowed) == 2
    assert "This page does not follow 2 clusters live" in html
    for c in unfollowed:
        assert f'href="/c/{c.name}/workloads/"' in html.split('id="overview-unfollowed"')[1].split("</p>")[0]


def test_the_overview_of_few_clusters_follows_them_all(many: object, viewer_client: Client) -> None:
    assert 'id="overview-unfollowed"' not in viewer_client.get("/").content.decode()
