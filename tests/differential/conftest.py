"""The same requests to democluster and to the real control plane, answers compared after
normalizing what must differ (uids, timestamps, resourceVersions, generated name suffixes, IPs)."""

from __future__ import annotations

import base64
import itertools
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from realcluster.cluster import TOKENS, RealCluster
from tests.support import stack
from tests.support.stack import Democluster

README = Path(__file__).resolve().parents[2] / "democluster" / "README.md"
_spaces = itertools.count(1)


@dataclass
class Server:
    """One API server spoken to over plain HTTP, as the official client and kubectl do."""

    name: str
    url: str
    session: requests.Session
    # Per request: requests lets REQUESTS_CA_BUNDLE override a session's own verify.
    verify: str = ""
    kubeconfig: Path | None = None

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return stack.kubectl(self.kubeconfig, Path(f"{self.kubeconfig}.cache"), *args, check=False)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers = {"Accept": accept}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = body if isinstance(body, str) else __import__("json").dumps(body)
        response = self.session.request(
            method, self.url + path, data=data, headers=headers, params=params or {}, timeout=30, verify=self.verify
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    def as_token(self, token: str, **headers: str) -> Server:
        """The same server, spoken to as a user of the token file (realcluster.cluster.TOKENS), with these
        extra headers (``Impersonate_User="alice"``)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for name, value in headers.items():
            session.headers[name.replace("_", "-")] = value
        return Server(self.name, self.url, session, self.verify, self.kubeconfig)

    def with_headers(self, **headers: str) -> Server:
        """The same server and credentials, with these extra headers on every request."""
        session = requests.Session()
        session.cert = self.session.cert
        session.headers.update(self.session.headers)
        for name, value in headers.items():
            session.headers[name.replace("_", "-")] = value
        return Server(self.name, self.url, session, self.verify, self.kubeconfig)


# The people of the real cluster's token file, the same on democluster (RBAC gives them nothing by itself).
PEOPLE = [f"--user={token},{user}" for token, (user, groups) in TOKENS.items() if not groups]


def _democluster_server(dc: Democluster, home: Path) -> Server:
    config = yaml.safe_load(dc.kubeconfig.read_text())
    ca = home / "democluster-ca.crt"
    ca.write_bytes(base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {config['users'][0]['user']['token']}"
    return Server("democluster", dc.url, session, str(ca), dc.kubeconfig)


def _kubernetes_server(cluster: RealCluster) -> Server:
    pki = cluster.directory / "pki"
    session = requests.Session()
    session.cert = (str(pki / "admin.crt"), str(pki / "admin.key"))
    return Server("kubernetes", cluster.server, session, str(pki / "ca.crt"), cluster.kubeconfig)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory, real_kubernetes: RealCluster) -> Iterator[tuple[Server, Server]]:
    home = tmp_path_factory.mktemp("differential")
    dc = Democluster(home, "--fresh", "--no-scenario", *PEOPLE).start()
    try:
        yield _democluster_server(dc, home), _kubernetes_server(real_kubernetes)
    finally:
        dc.stop()


@pytest.fixture
def namespace(servers: tuple[Server, Server]) -> Iterator[str]:
    """A fresh namespace of the same name on both servers."""
    name = f"diff-{next(_spaces)}"
    for server in servers:
        status, answer = server.call("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        assert status == 201, (server.name, answer)
    yield name
    for server in servers:
        server.call("DELETE", f"/api/v1/namespaces/{name}")


def known_differences() -> dict[str, str]:
    """democluster/README.md's list: ``- `case-id`: why`` under "Differences from Kubernetes"."""
    text = README.read_text()
    section = text.split("## Differences from Kubernetes", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^- `([a-z0-9-]+)`: (.+)$", section, re.M))
