"""The live socket, through the real ASGI stack (origin check, session auth) and the Redis channel layer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.test import Client

from tests.support import factories as f
from tests.support.sockets import ORIGIN, connect, cookie_for, frames, workload_socket
from workloads.live import pages as live_pages
from workloads.live import publish as live
from workloads.models import Cluster, Pod, Workload

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo() -> dict:
    cluster = f.make_cluster("demo")
    f.make_namespace(cluster, "demo")
    deploy, old_rs, new_rs, pods = f.rollout(cluster, "demo", "web", old_pods=2, new_pods=2)
    return {"cluster": cluster, "deploy": deploy, "new_rs": new_rs, "pods": pods}


def oob_ids(frame: str) -> list[str]:
    return re.findall(r'<\w+ hx-swap-oob="true"[^>]*\bid="([^"]+)"', frame)


async def test_it_refuses_an_anonymous_socket(demo: dict, layer: object) -> None:
    _, connected, code = await connect(workload_socket(demo), ORIGIN)
    assert not connected
    assert code == 4401


async def test_it_refuses_a_foreign_origin(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    _, connected, _ = await connect(workload_socket(demo), (b"origin", b"https://evil.example.com"), cookie)
    assert not connected


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "settings_origins"),
    [
        ("https://localhost", "localhost", "ws", []),  # another scheme
        ("http://localhost:8080", "localhost", "ws", []),  # another port
        ("http://localhost", "localhost:8000", "ws", []),
        ("http://localhost", "localhost", "wss", []),
        ("http://127.0.0.1", "localhost", "ws", ["https://127.0.0.1"]),
    ],
)
async def test_it_refuses_an_origin_that_differs_in_scheme_or_port(
    demo: dict, viewer: User, layer: object, settings: object, origin: str, host: str, scheme: str, settings_origins
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = settings_origins
    cookie = await sync_to_async(cookie_for)(viewer)
    _, connected, _ = await connect(
        workload_socket(demo), (b"origin", origin.encode()), cookie, host=host.encode(), scheme=scheme
    )
    assert not connected


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "settings_origins"),
    [
        ("http://localhost:8000", "localhost:8000", "ws", []),
        ("https://localhost", "localhost", "wss", []),
        ("https://localhost", "127.0.0.1:8000", "ws", ["https://localhost"]),  # a TLS proxy's origin
    ],
)
async def test_it_accepts_its_own_origin_and_trusted_ones(
    demo: dict, viewer: User, layer: object, settings: object, origin: str, host: str, scheme: str, settings_origins
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = settings_origins
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(
        workload_socket(demo), (b"origin", origin.encode()), cookie, host=host.encode(), scheme=scheme
    )
    assert connected
    await communicator.disconnect()


async def test_it_refuses_a_user_without_the_viewer_role(demo: dict, outsider: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(outsider)
    _, connected, code = await connect(workload_socket(demo), ORIGIN, cookie)
    assert (connected, code) == (False, 4403)


@pytest.mark.parametrize(
    "group",
    [
        "wl.{cluster}.no-such-uid",
        "pod.{cluster}.no-such-uid",
        "ns.{cluster}.no-such-namespace",
        "cluster.999999",
        "wl.999999.{workload}",
        "not a group",
        "wl.{cluster}.../../x",
    ],
)
async def test_it_refuses_a_subscription_to_what_the_mirror_does_not_know(
    demo: dict, viewer: User, layer: object, group: str
) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    group = group.format(cluster=demo["cluster"].id, workload=demo["deploy"].uid)
    _, connected, code = await connect(workload_socket(demo, group), ORIGIN, cookie)
    assert (connected, code) == (False, 4403)


async def test_it_refuses_a_workload_of_another_cluster(demo: dict, viewer: User, layer: object) -> None:
    other = await sync_to_async(f.make_cluster)("other")
    cookie = await sync_to_async(cookie_for)(viewer)
    group = live.workload_group(other.id, demo["deploy"].uid)
    _, connected, code = await connect(workload_socket(demo, group), ORIGIN, cookie)
    assert (connected, code) == (False, 4403)


async def test_it_refuses_a_page_that_is_not_live(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    for page in ("/admin/", "https://evil.example.com/", "/c/demo/ns/demo/deployment/nope/", "/nowhere/"):
        path = "/ws/live/?" + urlencode({"sub": live.cluster_group(demo["cluster"].id), "page": page})
        _, connected, code = await connect(path, ORIGIN, cookie)
        assert (connected, code) == (False, 4403), page


async def test_it_sends_the_whole_page_on_connect(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    first = await communicator.receive_from(timeout=5)
    uid = demo["deploy"].uid
    assert oob_ids(first) == [
        f"cluster-banner-{demo['cluster'].id}",
        f"workload-{uid}",
        f"rollout-{uid}",
        f"around-{uid}",
        f"tree-{uid}",
        f"conditions-{uid}",
        f"pods-{uid}",
        f"template-{uid}",
        f"events-{uid}",
    ]
    assert all(f'id="pod-{p.uid}"' in first for p in demo["pods"])
    await communicator.disconnect()


async def test_a_change_sends_the_changed_fragments_as_oob_swaps(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    deploy, gone = demo["deploy"], demo["pods"][0]

    def change() -> Pod:
        Pod.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
        rs = demo["new_rs"]
        template = {
            "metadata": {"labels": {"app": "web", "pod-template-hash": rs.template_hash}},
            "spec": {"containers": [f.container("web", "nginx:1.27")]},
        }
        owner = ("ReplicaSet", rs.name, rs.uid)
        return f.make_pod(demo["cluster"], "demo", f"{rs.name}-fresh", template, owner=owner, workload_uid=deploy.uid)

    new_pod = await sync_to_async(change)()
    await layer.group_send(
        live.workload_group(demo["cluster"].id, deploy.uid),
        {"type": "mirror.changed", "cluster": demo["cluster"].id, "workload": deploy.uid},
    )
    got = await frames(communicator)
    assert len(got) == 1
    # A Pod came and one went: the shape of its revision's group changed, so the group is sent, not the section.
    group = f"revision-{demo['new_rs'].uid}"
    assert group in oob_ids(got[0]), oob_ids(got[0])
    assert f"pods-{deploy.uid}" not in oob_ids(got[0])
    assert f'id="pod-{new_pod.uid}"' in got[0]
    assert f'id="pod-{gone.uid}"' not in got[0]  # the deleted Pod's row goes with the re-rendered group
    assert f"workload-{deploy.uid}" not in oob_ids(got[0])  # unchanged fragments are not sent again
    await communicator.disconnect()


async def test_a_pod_whose_state_changed_is_sent_as_its_row_alone(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    deploy, pod = demo["deploy"], demo["pods"][-1]
    await sync_to_async(Pod.objects.filter(pk=pod.pk).update)(restarts=7)
    await layer.group_send(
        live.workload_group(demo["cluster"].id, deploy.uid),
        {"type": "mirror.changed", "cluster": demo["cluster"].id, "workload": deploy.uid},
    )
    got = await frames(communicator)
    assert len(got) == 1
    assert oob_ids(got[0]) == [f"pod-{pod.uid}"]
    assert got[0].startswith(f'<tr hx-swap-oob="true" id="pod-{pod.uid}"')
    assert '<td class="num">7</td>' in got[0]
    assert not any(f'id="pod-{p.uid}"' in got[0] for p in demo["pods"] if p.pk != pod.pk)
    await communicator.disconnect()


async def test_a_burst_of_changes_is_one_frame(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    deploy, cluster = demo["deploy"], demo["cluster"]
    group = live.workload_group(cluster.id, deploy.uid)

    # Ten changes committed in a burst (as one sync batch does), each announced: the page gets one frame.
    await sync_to_async(Workload.objects.filter(pk=deploy.pk).update)(ready_replicas=109)
    for _ in range(10):
        await layer.group_send(group, {"type": "mirror.changed", "cluster": cluster.id, "workload": deploy.uid})
    got = await frames(communicator)
    assert len(got) == 1, [oob_ids(g) for g in got]
    assert "109/3 ready" in got[0]  # the latest state, not the first
    await communicator.disconnect()


async def test_a_cluster_that_lost_its_watch_shows_a_banner(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    first = await communicator.receive_from(timeout=5)
    cluster = demo["cluster"]
    assert (
        f'<div hx-swap-oob="true" id="cluster-banner-{cluster.id}" class="cluster-banner" data-status="connected">'
        in first
    )

    await sync_to_async(Cluster.objects.filter(pk=cluster.pk).update)(
        status=Cluster.Status.UNREACHABLE, status_message="connection refused"
    )
    await layer.group_send(live.cluster_group(cluster.id), {"type": "cluster.status", "cluster": cluster.id})
    got = await frames(communicator)
    assert len(got) == 1
    # The banner, and nothing that did not change (a young Pod's age may have, between two renders).
    assert oob_ids(got[0])[0] == f"cluster-banner-{cluster.id}"
    assert f"workload-{demo['deploy'].uid}" not in oob_ids(got[0])
    assert "Cluster demo is unreachable" in got[0]
    assert "connection refused" in got[0]
    await communicator.disconnect()


async def test_a_namespace_list_follows_its_namespace(demo: dict, viewer: User, layer: object) -> None:
    cluster = demo["cluster"]
    cookie = await sync_to_async(cookie_for)(viewer)
    path = "/ws/live/?" + urlencode(
        [("sub", live.cluster_group(cluster.id)), ("sub", live.namespace_group(cluster.id, "demo"))]
        + [("page", "/c/demo/ns/demo/?sort=-age")]
    )
    communicator, connected, _ = await connect(path, ORIGIN, cookie)
    assert connected
    first = await communicator.receive_from(timeout=5)
    assert oob_ids(first) == [f"cluster-banner-{cluster.id}", "workload-table", "bare-pods-demo"]

    db = await sync_to_async(f.make_statefulset)(cluster, "demo", "db")
    message = {"type": "mirror.changed", "cluster": cluster.id, "namespace": "demo", "kinds": ["StatefulSet"]}
    await layer.group_send(live.namespace_group(cluster.id, "demo"), message)
    got = await frames(communicator)
    assert len(got) == 1
    assert oob_ids(got[0]) == ["workload-table"]
    assert f'id="workload-{db.uid}"' in got[0]
    assert "sort=age" in got[0]  # rendered with the page's own query: the sort links flip
    await communicator.disconnect()


async def test_it_survives_garbage(demo: dict, viewer: User, layer: object, caplog: pytest.LogCaptureFixture) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    for junk in ("not json", "[1, 2]", '{"subscribe": 5}', "null", '"x"', "{" * 10_000, "x" * 100_000, " "):
        await communicator.send_to(text_data=junk)
    await communicator.send_to(bytes_data=b"\x00\xff" * 1000)
    assert await communicator.receive_nothing(timeout=0.3)
    assert "ignored" in caplog.text

    await communicator.send_to(text_data='{"refresh": true}')
    again = await frames(communicator)
    assert len(again) == 1 and f"workload-{demo['deploy'].uid}" in oob_ids(again[0])

    deploy, cluster = demo["deploy"], demo["cluster"]
    await sync_to_async(Workload.objects.filter(pk=deploy.pk).update)(ready_replicas=42)
    await layer.group_send(
        live.workload_group(cluster.id, deploy.uid), {"type": "mirror.changed", "cluster": cluster.id}
    )
    got = await frames(communicator)
    assert len(got) == 1 and "42/3 ready" in got[0]
    await communicator.disconnect()


async def test_it_survives_a_frame_nested_thousands_deep(demo: dict, viewer: User, layer: object) -> None:
    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    await communicator.send_to(text_data="[" * 2000 + "]" * 2000)  # 4,000 brackets, within MAX_MESSAGE
    await communicator.send_to(text_data='{"a":' * 800)
    await communicator.send_to(text_data='{"refresh": true}')
    again = await frames(communicator)
    assert len(again) == 1 and f"workload-{demo['deploy'].uid}" in oob_ids(again[0])
    await communicator.disconnect()


async def test_pages_showing_the_same_thing_share_a_render(
    demo: dict, viewer: User, layer: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = []
    render_fragments = live_pages.render_fragments

    def counted(*args: object) -> dict:
        renders.append(args)
        return render_fragments(*args)

    monkeypatch.setattr(live_pages, "render_fragments", counted)
    cookie = await sync_to_async(cookie_for)(viewer)
    pages = [(await connect(workload_socket(demo), ORIGIN, cookie))[0] for _ in range(5)]
    for communicator in pages:
        await frames(communicator, quiet=0.1)
    deploy, cluster = demo["deploy"], demo["cluster"]
    await sync_to_async(Workload.objects.filter(pk=deploy.pk).update)(ready_replicas=7)
    # As the sync layer sends it: one change, one id, however many pages receive it.
    await layer.group_send(live.workload_group(cluster.id, deploy.uid), {"type": "mirror.changed", "change": "c1"})
    renders.clear()
    got = await asyncio.gather(*(frames(c) for c in pages))
    assert [len(g) for g in got] == [1] * 5
    assert len(renders) == 1
    assert len({g[0] for g in got}) == 1 and "7/3 ready" in got[0][0]
    for communicator in pages:
        await communicator.disconnect()


def test_a_page_renders_its_socket_and_says_when_its_data_is_from(demo: dict, viewer_client: Client) -> None:
    cluster, deploy = demo["cluster"], demo["deploy"]
    html = viewer_client.get("/c/demo/ns/demo/deployment/web/").content.decode()
    socket = re.search(r'<div id="live-socket" hx-ext="ws,podium-frames" ws-connect="([^"]+)" hidden>', html)
    assert socket
    url = socket[1].replace("&amp;", "&")
    assert f"sub=cluster.{cluster.id}" in url and f"sub=wl.{cluster.id}.{deploy.uid}" in url
    assert "page=%2Fc%2Fdemo%2Fns%2Fdemo%2Fdeployment%2Fweb%2F" in url
    # Without JavaScript the indicator claims nothing but the time the page was rendered.
    assert re.search(r'class="live live-static".*data as of <time>\d\d:\d\d:\d\d</time>', html)


def test_a_filtered_table_reconnects_the_socket_for_its_query(demo: dict, viewer_client: Client) -> None:
    response = viewer_client.get(
        "/c/demo/ns/demo/?kind=StatefulSet", headers={"HX-Request": "true", "HX-Target": "workload-table"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="workload-table"')
    assert '<div id="live-socket" hx-ext="ws,podium-frames" ws-connect="/ws/live/?' in html
    assert 'hx-swap-oob="true"' in html
    assert "page=%2Fc%2Fdemo%2Fns%2Fdemo%2F%3Fkind%3DStatefulSet" in html


async def _open_then_lose_access(demo: dict, user: User, lose_access: Callable[[Client], None]) -> dict:
    """A socket that is open and up to date, then ``lose_access``, then a change: what does the page get?"""
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    await sync_to_async(lose_access)(client)
    deploy, cluster = demo["deploy"], demo["cluster"]
    await sync_to_async(Workload.objects.filter(pk=deploy.pk).update)(ready_replicas=42)
    await layer_send(cluster.id, deploy.uid)
    output = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    return output


async def layer_send(cluster_id: int, uid: str) -> None:
    await get_channel_layer().group_send(
        live.workload_group(cluster_id, uid), {"type": "mirror.changed", "cluster": cluster_id}
    )


async def test_it_closes_the_socket_after_logout(demo: dict, viewer: User, layer: object) -> None:
    output = await _open_then_lose_access(demo, viewer, lambda client: client.logout())
    assert output == {"type": "websocket.close", "code": 4401}


async def test_it_closes_the_socket_of_a_deactivated_user(demo: dict, viewer: User, layer: object) -> None:
    output = await _open_then_lose_access(
        demo, viewer, lambda client: User.objects.filter(pk=viewer.pk).update(is_active=False)
    )
    assert output == {"type": "websocket.close", "code": 4401}


async def test_it_closes_the_socket_when_the_viewer_role_is_removed(demo: dict, viewer: User, layer: object) -> None:
    output = await _open_then_lose_access(demo, viewer, lambda client: viewer.groups.clear())
    assert output == {"type": "websocket.close", "code": 4403}


async def test_it_keeps_streaming_while_access_holds(demo: dict, viewer: User, layer: object) -> None:
    output = await _open_then_lose_access(demo, viewer, lambda client: None)
    assert output["type"] == "websocket.send" and "42/3 ready" in output["text"]


async def test_what_the_sync_publishes_in_one_round_trip_reaches_the_page(
    demo: dict, viewer: User, layer: object
) -> None:
    from workloads.live.publish import Changed

    cookie = await sync_to_async(cookie_for)(viewer)
    communicator, connected, _ = await connect(workload_socket(demo), ORIGIN, cookie)
    assert connected
    await frames(communicator)
    deploy, pod = demo["deploy"], demo["pods"][0]
    await sync_to_async(Pod.objects.filter(pk=pod.pk).update)(restarts=41)
    # Many groups in one batch (namespace, everything, workload, Pods), as a watcher's batch announces them.
    others = {f"{i:08d}-0000-0000-0000-000000000000" for i in range(20)}
    await sync_to_async(live.publish)(
        demo["cluster"].id,
        Changed(namespaces={"demo"}, workload_uids={deploy.uid}, pod_uids={pod.uid, *others}, kinds={"Pod"}),
    )
    got = await frames(communicator)
    assert len(got) == 1 and '<td class="num">41</td>' in got[0]
    await sync_to_async(Cluster.objects.filter(pk=demo["cluster"].pk).update)(status="unreachable")
    await sync_to_async(live.publish_cluster_status)(demo["cluster"].id)
    got = await frames(communicator)
    assert len(got) == 1 and f"cluster-banner-{demo['cluster'].id}" in oob_ids(got[0])
    await communicator.disconnect()
