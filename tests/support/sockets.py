"""Live and log sockets as a browser opens them, through the real ASGI stack (tests/live, tests/i18n, tests/logs)."""

from __future__ import annotations

from urllib.parse import urlencode

from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from dashboard.asgi import application
from workloads.live import publish as live

ORIGIN = (b"origin", b"http://localhost")


def cookie_for(user: User) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def workload_socket(demo: dict, *groups: str) -> str:
    cluster, deploy = demo["cluster"], demo["deploy"]
    groups = groups or (live.cluster_group(cluster.id), live.workload_group(cluster.id, deploy.uid))
    page = f"/c/{cluster.name}/ns/demo/deployment/{deploy.name}/"
    return "/ws/live/?" + urlencode([("sub", g) for g in groups] + [("page", page)])


async def connect(
    path: str, *headers: tuple[bytes, bytes], host: bytes = b"localhost", scheme: str = "ws"
) -> tuple[WebsocketCommunicator, bool, int | None]:
    """A socket as a browser opens it (with a Host header) from a page with the given headers (an Origin)."""
    communicator = WebsocketCommunicator(application, path, headers=[(b"host", host), *headers])
    communicator.scope["scheme"] = scheme
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def frames(communicator: WebsocketCommunicator, quiet: float = 0.4, first: float = 10.0) -> list[str]:
    """Every frame until the socket has been quiet for ``quiet`` seconds, once the first has come (waited for up to
    ``first`` seconds: a render on a busy machine can take longer than the quiet time)."""
    got = []
    if await communicator.receive_nothing(timeout=first, interval=0.01):
        return got
    while not got or not await communicator.receive_nothing(timeout=quiet, interval=0.01):
        got.append(await communicator.receive_from(timeout=1))
    return got
