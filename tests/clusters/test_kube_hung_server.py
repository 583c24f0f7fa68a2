"""A hung API server: it accepts TCP connections and never answers. A person's request gets one short deadline
(PODIUM_KUBE_REQUEST_TIMEOUT) and a clear message, nothing is retried behind their back, and a watch the server
does not answer does not count as "connected".

The hung server is real: a socket on 127.0.0.1 that accepts and holds every connection, saying nothing.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.test import Client

from tests.support import factories as f
from tests.support.stack import wait_for
from workloads import kube
from workloads.models import ChangeRecord, Cluster, SyncState
from workloads.sync.watcher import Watcher

DEADLINE = 2
MANIFEST = "\n---\n".join(
    f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p-{i}, namespace: shop}}\n"
    "spec: {containers: [{name: a, image: 'busybox:1.36'}]}"
    for i in range(3)
)


class HungServer:
    """Accepts connections, reads what is sent, never writes a byte; or, with ``answer_watches``, answers a watch
    request with its headers and then falls silent (a server that hangs after it answered)."""

    answer_watches = False

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.received = b""
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            self.received += data
            if self.answer_watches and b"watch=true" in data:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")

    def requests(self) -> list[str]:
        """The request lines received ("PATCH /apis/..."), in order."""
        return [line for line in self.received.decode(errors="replace").split("\r\n") if " HTTP/1.1" in line]

    def close(self) -> None:
        self._stop.set()
        for conn in self.connections:
            conn.close()
        self.listener.close()


@pytest.fixture
def hung() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()


@pytest.fixture
def hung_cluster(hung: HungServer, tmp_path: Path, db: None) -> Cluster:
    kubeconfig = tmp_path / "hung.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "hung", "cluster": {"server": f"http://127.0.0.1:{hung.port}"}}],
                "users": [{"name": "someone", "user": {"token": "a-token"}}],
                "contexts": [{"name": "hung", "context": {"cluster": "hung", "user": "someone"}}],
                "current-context": "hung",
            }
        )
    )
    # The mirror knows the cluster as connected, from before the server hung.
    # Podium acts as itself there: what a hung server does to one's own requests (no access checks first).
    return f.make_cluster(
        "hung", connection=Cluster.Connection.KUBECONFIG, kubeconfig_path=str(kubeconfig), impersonate=False
    )


@pytest.fixture
def short_deadline(settings) -> None:
    settings.PODIUM_KUBE_REQUEST_TIMEOUT = DEADLINE
    settings.PODIUM_WATCH_PROBE_SECONDS = 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("what", "send"),
    [
        ("scale", lambda c, base: c.post(f"{base}/actions/scale/", {"replicas": "5"}, follow=True)),
        ("pause", lambda c, base: c.post(f"{base}/actions/pause/", follow=True)),
        ("restart preview", lambda c, base: c.post(f"{base}/actions/restart/", follow=True)),
        ("edit form", lambda c, base: c.get(f"{base}/edit/")),
        ("manifest preview", lambda c, base: c.post("/c/hung/apply/", {"text": MANIFEST})),
    ],
)
def test_a_person_waits_one_short_deadline_and_is_told_why(
    editor_client: Client, hung: HungServer, hung_cluster: Cluster, short_deadline: None, what: str, send
) -> None:
    f.make_namespace(hung_cluster, "shop")
    f.make_deployment(hung_cluster, "shop", "web")
    started = time.monotonic()
    response = send(editor_client, "/c/hung/ns/shop/deployment/web")
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 2, f"{what} took {elapsed:.1f} s"
    text = response.content.decode()
    assert f"did not answer within {DEADLINE} s" in text, text[:3000]
    # One request, sent once: nothing retried behind the person's back.
    assert len(hung.requests()) == 1, hung.requests()
    assert len(hung.connections) == 1


@pytest.mark.django_db
def test_a_scale_that_got_no_answer_is_recorded_as_of_unknown_outcome_with_the_reason(
    editor_client: Client, hung: HungServer, hung_cluster: Cluster, short_deadline: None
) -> None:
    f.make_namespace(hung_cluster, "shop")
    f.make_deployment(hung_cluster, "shop", "web")
    editor_client.post("/c/hung/ns/shop/deployment/web/actions/scale/", {"replicas": "5"})
    [row] = ChangeRecord.objects.filter(action="scale")
    # The request went out and no answer came: the cluster may have scaled it, so the trail does not say "failed".
    assert row.outcome == ChangeRecord.Outcome.UNKNOWN
    assert f"did not answer within {DEADLINE} s" in row.message
    assert len(hung.requests()) == 1
    page = editor_client.get("/c/hung/ns/shop/deployment/web/").content.decode()
    assert "The cluster did not answer (scale): the API server did not answer within" in page
    assert "It may have applied it: look at the workload before trying again." in page


def test_the_client_says_it_did_not_answer_within_the_deadline(hung: HungServer, hung_cluster: Cluster) -> None:
    api = kube.api_client_for(kube.config_for_cluster(hung_cluster), deadline=DEADLINE)
    started = time.monotonic()
    with pytest.raises(kube.Unreachable, match=f"did not answer within {DEADLINE} s"):
        kube.get_object(api, kube.kind_for("Deployment"), "shop", "web")
    assert time.monotonic() - started < DEADLINE + 1.5
    api.close()


@pytest.mark.django_db(transaction=True)
def test_a_watch_the_server_does_not_answer_is_not_connected(
    hung: HungServer, hung_cluster: Cluster, short_deadline: None
) -> None:
    # It was followed before the server hung: a watch resumes from the stored resourceVersion.
    SyncState.objects.create(
        cluster=hung_cluster, kind="Deployment", resource_version="100", status=SyncState.Status.WATCHING
    )
    watcher = Watcher(hung_cluster.pk, "Deployment", holder="test-hung", run_seconds=30)
    thread = threading.Thread(target=watcher.run, daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        wait_for(lambda: any("watch=true" in r for r in hung.requests()), timeout=10, what="the watch request")
        # Meanwhile it never says "connected" for a watch that has not answered...
        cluster = wait_for(
            lambda: Cluster.objects.filter(pk=hung_cluster.pk, status=Cluster.Status.UNREACHABLE).first(),
            timeout=DEADLINE + 8,
            what="the cluster to be unreachable",
        )
        assert time.monotonic() - started < DEADLINE + 8
        assert f"did not answer within {DEADLINE} s" in cluster.status_message
        assert SyncState.objects.get(cluster=hung_cluster, kind="Deployment").status == SyncState.Status.UNREACHABLE
    finally:
        watcher.run_seconds = 0
        watcher.lease.release()
        thread.join(timeout=DEADLINE * 4 + 10)


@pytest.mark.django_db(transaction=True)
def test_a_watch_that_falls_silent_on_a_hung_server_is_found_out(
    hung: HungServer, hung_cluster: Cluster, short_deadline: None
) -> None:
    hung.answer_watches = True
    SyncState.objects.create(
        cluster=hung_cluster, kind="Deployment", resource_version="100", status=SyncState.Status.WATCHING
    )
    watcher = Watcher(hung_cluster.pk, "Deployment", holder="test-silent", run_seconds=30)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        # The server answered the watch, then says nothing more, and does not answer GET /version either: after
        # PODIUM_WATCH_PROBE_SECONDS of silence the probe finds it out within the deadline.
        started = time.monotonic()
        cluster = wait_for(
            lambda: Cluster.objects.filter(pk=hung_cluster.pk, status=Cluster.Status.UNREACHABLE).first(),
            timeout=DEADLINE + 10,
            what="the cluster to be unreachable",
        )
        assert time.monotonic() - started < DEADLINE + 10
        assert any(r.startswith("GET /version") for r in hung.requests()), hung.requests()
        assert f"did not answer within {DEADLINE} s" in cluster.status_message
    finally:
        watcher.run_seconds = 0
        watcher.lease.release()
        thread.join(timeout=DEADLINE * 4 + 10)
