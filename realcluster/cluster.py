"""Start and stop a real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (fake nodes whose Pods move through the stages in
stages.py), built by build.sh from pinned Go modules.

    with RealCluster.start(directory) as cluster:      # or cluster = RealCluster.start(...); cluster.stop()
        cluster.kubeconfig                              # admin (system:masters), client certificates
        cluster.token_kubeconfig("limited-token")       # a user from the token file, for RBAC tests
        cluster.helm("install", ...)                    # helm (built with the rest), as the admin

Used by the tests (tests/support/clusters.py), the benchmarks, and `python -m realcluster` for a
cluster to play with.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from realcluster.stages import stages_yaml

HERE = Path(__file__).resolve().parent
NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.96.0.0/16"
# Users of the token file, for tests that act as limited people (RBAC gives them nothing by itself).
TOKENS = {
    "podium-admin-token": ("podium-admin", "system:masters"),
    "podium-limited-token": ("podium-limited", ""),
    "podium-nobody-token": ("podium-nobody", ""),
}


class StartFailed(RuntimeError):
    pass


def build() -> Path:
    """Build the binaries when missing (build.sh says so, with progress) and return their directory."""
    result = subprocess.run(["bash", str(HERE / "build.sh")], stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise StartFailed("building the control plane failed (see the output above)")
    return Path(result.stdout.strip().splitlines()[-1])


def helm(
    *args: str,
    home: Path,
    kubeconfig: Path | None = None,
    bindir: Path | None = None,
    check: bool = True,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """helm as build.sh built it, with its config, cache and data under ``home`` (never the user's
    ~/.config/helm), talking to the cluster of ``kubeconfig`` (none: ``template`` and ``lint`` only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HELM_"))}
    env.update({f"HELM_{part}_HOME": str(home / part.lower()) for part in ("CACHE", "CONFIG", "DATA")})
    env["KUBECONFIG"] = str(kubeconfig or home / "no-cluster.kubeconfig")
    result = subprocess.run(
        [str((bindir or build()) / "helm"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise StartFailed(f"helm {' '.join(args)}: {result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- certificates ----------------------------------------------------------------------------


def _pem_key(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    subject: x509.Name,
    key: Any,
    issuer: x509.Name,
    issuer_key: Any,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # Strict verifiers (urllib3 2, Python 3.13) need the key identifiers to build the chain.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = x509.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pki(directory: Path) -> None:
    """One CA; the API server's certificate for 127.0.0.1; an admin client in system:masters; the
    service-account signing key."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podium-realcluster-ca")])
    ca = _cert(ca_name, ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
        x509.DNSName("localhost"),
        *(x509.DNSName(n) for n in ("kubernetes", "kubernetes.default", "kubernetes.default.svc")),
    ]
    server = _cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), server_key, ca_name, ca_key, sans=sans
    )
    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, "podium-realcluster-admin"),
        ]
    )
    admin = _cert(admin_name, admin_key, ca_name, ca_key, client=True)
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = {
        "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
        "server.crt": server.public_bytes(serialization.Encoding.PEM),
        "server.key": _pem_key(server_key),
        "admin.crt": admin.public_bytes(serialization.Encoding.PEM),
        "admin.key": _pem_key(admin_key),
        "sa.key": _pem_key(sa_key),
        "sa.pub": sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
        (directory / name).chmod(0o600)
    (directory / "tokens.csv").write_text(
        "".join(
            f"{token},{user},{user}" + (f',"{groups}"' if groups else "") + "\n"
            for token, (user, groups) in TOKENS.items()
        )
    )


# --- processes -------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait(condition: Callable[[], Any], *, timeout: float, what: str, children: list[Child]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        for child in children:
            if not child.alive():
                raise StartFailed(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
        try:
            value = condition()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise StartFailed(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


@dataclass
class RealCluster:
    directory: Path
    server: str
    kubeconfig: Path
    children: list[Child] = field(default_factory=list)
    started_in: float = 0.0
    node_names: list[str] = field(default_factory=list)
    watch_cache: bool = True
    etcd_url: str = ""
    bindir: Path | None = None
    kubelet_port: int = 0  # kwok's kubelet-like server (container logs), on every Node's daemonEndpoints
    _apiserver_args: list[str] = field(default_factory=list)

    # -- starting ---------------------------------------------------------------------------

    @classmethod
    def start(
        cls, directory: Path, *, nodes: int = 3, bindir: Path | None = None, watch_cache: bool = True
    ) -> RealCluster:
        """Start one and wait until it is ready: /readyz, Ready nodes, the default ServiceAccount.
        ``watch_cache=False`` serves watches from etcd, so that ``compact()`` makes old
        resourceVersions 410 Gone at once (with the cache, only its history window does)."""
        began = time.monotonic()
        bindir = bindir or build()
        directory.mkdir(parents=True, exist_ok=True)
        pki = directory / "pki"
        write_pki(pki)
        etcd_port, etcd_peer, api_port = free_port(), free_port(), free_port()
        server = f"https://127.0.0.1:{api_port}"
        kubeconfig = directory / "admin.kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                _kubeconfig(
                    server,
                    pki,
                    user={"client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")},
                )
            )
        )
        cluster = cls(directory, server, kubeconfig, bindir=bindir)
        cluster.watch_cache = watch_cache
        try:
            cluster._start_processes(bindir, pki, etcd_port, etcd_peer, api_port, nodes)
        except BaseException:
            cluster.stop()
            raise
        cluster.started_in = time.monotonic() - began
        return cluster

    def _spawn(self, name: str, args: list[str]) -> Child:
        log = self.directory / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def _start_processes(
        self, bindir: Path, pki: Path, etcd_port: int, etcd_peer: int, api_port: int, nodes: int
    ) -> None:
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{etcd_peer}"
        self._spawn(
            "etcd",
            [
                str(bindir / "etcd"),
                "--name=podium",
                f"--data-dir={self.directory / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=podium={peer_url}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync",
                "--log-level=warn",
                "--quota-backend-bytes=4294967296",
            ],
        )
        _wait(lambda: _http_ok(f"{etcd_url}/health"), timeout=30, what="etcd", children=self.children)
        self.etcd_url = etcd_url
        self._apiserver_args = [
            str(bindir / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--tls-cert-file={pki / 'server.crt'}",
            f"--tls-private-key-file={pki / 'server.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--profiling=false",
            "--enable-priority-and-fairness=false",
            f"--audit-log-path={self.directory / 'audit.log'}",
            f"--audit-policy-file={_audit_policy(self.directory)}",
            "--audit-log-maxsize=200",
            f"--watch-cache={'true' if self.watch_cache else 'false'}",
            # pods/log is served by the "kubelet": kwok's server on every Node's InternalIP (127.0.0.1).
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={pki / 'admin.crt'}",
            f"--kubelet-client-key={pki / 'admin.key'}",
            "--v=0",
        ]
        self.start_apiserver()
        common = [f"--kubeconfig={self.kubeconfig}", "--leader-elect=false", "--bind-address=127.0.0.1"]
        self._spawn(
            "kube-controller-manager",
            [
                str(bindir / "kube-controller-manager"),
                *common,
                "--secure-port=0",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # Fast enough for tests, as a kind or kubeadm cluster would be tuned for CI.
                "--concurrent-deployment-syncs=10",
                "--concurrent-replicaset-syncs=10",
                # The default 20 requests/s caps Pod creation at about 18 Pods/s (10k Pods: 9 minutes).
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--node-monitor-grace-period=40s",
            ],
        )
        self._spawn("kube-scheduler", [str(bindir / "kube-scheduler"), *common, "--secure-port=0"])
        self.kubectl("apply", "-f", str(Path(__file__).resolve().parent / "kwok" / "logs-crd.yaml"))
        self.kubectl("wait", "--for=condition=Established", "crd/logs.kwok.x-k8s.io", "--timeout=30s")
        self.kubelet_port = free_port()
        kwok_config = self.directory / "kwok.yaml"
        kwok_config.write_text(stages_yaml(self.server_version(), self.kubelet_port))
        self._spawn(
            "kwok",
            [
                str(bindir / "kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={kwok_config}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{self.kubelet_port}",
                f"--tls-cert-file={pki / 'server.crt'}",
                f"--tls-private-key-file={pki / 'server.key'}",
                "--enable-crds=Logs",
            ],
        )
        self.node_names = [f"kwok-node-{i}" for i in range(1, nodes + 1)]
        for name in self.node_names:
            self.kubectl("apply", "-f", "-", input=json.dumps(_node(name)))
        _wait(self._nodes_ready, timeout=60, what="kwok nodes to be Ready", children=self.children)
        _wait(
            lambda: self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0,
            timeout=60,
            what="the default ServiceAccount",
            children=self.children,
        )

    # -- while running ----------------------------------------------------------------------

    def _child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver alone (watches break, requests are refused); start_apiserver() brings it back."""
        child = self._child("kube-apiserver")
        if child:
            _terminate(child, grace=5)
            self.children.remove(child)

    def start_apiserver(self) -> None:
        self._spawn("kube-apiserver", self._apiserver_args)
        _wait(self._ready, timeout=120, what="kube-apiserver /readyz", children=self.children)

    def compact(self) -> int:
        """Compact etcd at its current revision: every older resourceVersion is gone (410 on a
        watch from it, when the watch cache is off). Returns the revision."""

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            request = urllib.request.Request(f"{self.etcd_url}{path}", data=json.dumps(body).encode(), method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        revision = int(post("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])
        post("/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def _ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.directory / "pki" / "ca.crt"))
        context.load_cert_chain(self.directory / "pki" / "admin.crt", self.directory / "pki" / "admin.key")
        return context

    def server_version(self) -> str:
        with urllib.request.urlopen(f"{self.server}/version", timeout=5, context=self._ssl()) as response:
            return json.loads(response.read())["gitVersion"]

    def _ready(self) -> bool:
        return _http_ok(f"{self.server}/readyz", context=self._ssl())

    def _nodes_ready(self) -> bool:
        nodes = json.loads(self.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        ready = {
            n["metadata"]["name"]
            for n in nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
        }
        return set(self.node_names) <= ready

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(self.kubeconfig)
        result = subprocess.run(
            ["kubectl", "--cache-dir", str(self.directory / "kubectl-cache"), *args],
            env=env,
            capture_output=True,
            text=True,
            input=input,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise StartFailed(f"kubectl {' '.join(args)}: {result.stderr}")
        return result

    def helm(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """helm against this cluster as its admin (see ``helm``)."""
        return helm(
            *args,
            home=self.directory / "helm",
            kubeconfig=self.kubeconfig,
            bindir=self.bindir,
            check=check,
            timeout=timeout,
        )

    def container_log(
        self, namespace: str, pod: str, container: str, lines: list[str], *, previous: list[str] | None = None
    ) -> None:
        """What kwok serves as this container's log (and its previous instance's): a file in the CRI log
        format per container, named by a ``Logs`` object of kwok's for the Pod. Lines get the time of writing."""
        folder = self.directory / "container-logs"
        folder.mkdir(exist_ok=True)

        def write(name: str, texts: list[str]) -> str:
            path = folder / name
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            path.write_text("".join(f"{stamp}.{i:09d}Z stdout F {text}\n" for i, text in enumerate(texts)))
            return str(path)

        entry: dict[str, Any] = {
            "containers": [container],
            "logsFile": write(f"{namespace}_{pod}_{container}.log", lines),
            "follow": True,
        }
        if previous is not None:
            entry["previousLogsFile"] = write(f"{namespace}_{pod}_{container}.previous.log", previous)
        existing = self.kubectl("get", "logs.kwok.x-k8s.io", pod, "-n", namespace, "-o", "json", check=False)
        logs = [entry]
        if existing.returncode == 0:
            logs += [e for e in json.loads(existing.stdout)["spec"]["logs"] if container not in e["containers"]]
        body = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {"logs": logs},
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(body))

    def token_kubeconfig(self, token: str, path: Path | None = None) -> Path:
        """A kubeconfig for one user of the token file (see TOKENS)."""
        path = path or self.directory / f"{token}.kubeconfig"
        path.write_text(yaml.safe_dump(_kubeconfig(self.server, self.directory / "pki", user={"token": token})))
        path.chmod(0o600)
        return path

    @property
    def ca_data(self) -> str:
        return base64.b64encode((self.directory / "pki" / "ca.crt").read_bytes()).decode()

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each process of the control plane."""
        sizes = {}
        for child in self.children:
            try:
                status = Path(f"/proc/{child.process.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes[child.name] = int(line.split()[1]) * 1024
        return sizes

    def stop(self) -> None:
        """Stop everything, the API server's clients first; what does not stop in 5 s is killed
        (kube-apiserver drains its watches for longer than a test wants to wait)."""
        for child in reversed(self.children):
            _terminate(child, grace=5)
        self.children.clear()

    def __enter__(self) -> RealCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(child: Child, *, grace: float) -> None:
    if not child.alive():
        return
    os.killpg(child.process.pid, signal.SIGTERM)
    try:
        child.process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as response:
            return response.status == 200
    except OSError:
        return False


def _kubeconfig(server: str, pki: Path, *, user: dict[str, str]) -> dict[str, Any]:
    ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "realcluster", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {"name": "realcluster", "context": {"cluster": "realcluster", "user": "user", "namespace": "default"}}
        ],
        "current-context": "realcluster",
    }


def _audit_policy(directory: Path) -> Path:
    """Metadata of every request Podium's own identities make (tests read it to check RBAC needs)."""
    policy = directory / "audit-policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "audit.k8s.io/v1",
                "kind": "Policy",
                "omitStages": ["RequestReceived"],
                "rules": [
                    {"level": "Metadata", "users": ["system:serviceaccount:podium:podium", "podium-limited"]},
                    {"level": "None"},
                ],
            }
        )
    )
    return policy


def _node(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
    }


def main() -> None:
    """python -m realcluster [DIR]: start one and keep it until Ctrl-C."""
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "var/realcluster").resolve()
    cluster = RealCluster.start(directory)
    print(f"real control plane ready in {cluster.started_in:.1f} s at {cluster.server}")
    print(f"    KUBECONFIG={cluster.kubeconfig}")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
