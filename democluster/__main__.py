"""``python -m democluster``: run the simulated API server with its controllers and kubelet."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import os
import signal
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from democluster import admission
from democluster.config import SimConfig
from democluster.rbac import MASTERS, Identity, token_identity
from democluster.server import ApiServer, start_server
from democluster.store import Store


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="democluster", description="A simulated Kubernetes API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="accept this bearer token; TOKEN:res1,res2 limits it to those resources (repeatable)",
    )
    parser.add_argument("--token-file", help="a file of tokens, one per line, in the --token syntax")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="TOKEN,NAME[,GROUP...]",
        help="accept this bearer token as user NAME (uid NAME) in these groups, governed by RBAC (repeatable)",
    )
    parser.add_argument("--audit-log-path", metavar="PATH", help="append one JSON audit event per API request")
    parser.add_argument("--write-kubeconfig", metavar="PATH")
    parser.add_argument("--snapshot", metavar="PATH", help="load state from PATH at start, save it there on exit")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing snapshot")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--fast", action="store_true", help="time scale 0.05, for tests")
    parser.add_argument("--no-scenario", action="store_true")
    parser.add_argument("--scale-workloads", type=int, default=0)
    parser.add_argument("--scale-pods", type=int, default=0)
    parser.add_argument(
        "--scale-around",
        action="store_true",
        help="give each scale workload a Service, ConfigMap, Secret, PodDisruptionBudget and HorizontalPodAutoscaler",
    )
    parser.add_argument(
        "--scale-bench", action="store_true", help="also namespace 'bench': 200 workloads and 3,000 Pods"
    )
    parser.add_argument("--churn", type=float, default=0.0, help="random changes per second")
    parser.add_argument(
        "--churn-mix", choices=("any", "ready"), default="any", help="'ready': churn only flips Pods' readiness"
    )
    parser.add_argument("--bookmark-interval", type=float, default=None, help="seconds between watch bookmarks")
    return parser.parse_args(argv)


def parse_tokens(specs: list[str], users: list[str] = ()) -> dict[str, Identity]:
    """``--token``: the first is the admin (system:masters); the others may do everything, or every verb on
    the resources listed after a colon. ``--user TOKEN,NAME,GROUP...``: a person whom RBAC alone governs."""
    grants: dict[str, Identity] = {}
    for i, spec in enumerate(specs):
        token, _, allowed = spec.strip().partition(":")
        if not token:
            continue
        if i == 0:
            grants[token] = token_identity("system:serviceaccount:democluster:admin", (MASTERS,), None)
            continue
        resources = frozenset(r.strip() for r in allowed.split(",") if r.strip()) if allowed else None
        grants[token] = token_identity(f"system:serviceaccount:democluster:user-{i}", (), resources)
    for spec in users:
        token, name, *groups = [part.strip() for part in spec.split(",")]
        if not token or not name:
            raise SystemExit(f"democluster: --user {spec!r}: expected TOKEN,NAME[,GROUP...]")
        grants[token] = token_identity(name, tuple(g for g in groups if g), frozenset(), uid=name)
    return grants


def make_certificate(directory: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost; it is its own CA."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    try:
        _make_certificate_cryptography(cert, key, host)
    except ImportError:
        san = "subjectAltName=IP:127.0.0.1,DNS:localhost" + (
            f",IP:{host}" if host[0].isdigit() and host != "127.0.0.1" else ""
        )
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", "365", "-subj", "/CN=democluster",
                "-addext", san, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                "-addext", "extendedKeyUsage=serverAuth",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return cert, key


def _make_certificate_cryptography(cert_path: Path, key_path: Path, host: str) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "democluster")])
    alt: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    with contextlib.suppress(ValueError):
        if host not in ("127.0.0.1", "localhost", "0.0.0.0"):
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def write_kubeconfig(path: str, url: str, token: str | None, ca_pem: bytes | None) -> None:
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    user: dict[str, Any] = {"token": token} if token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "democluster", "cluster": cluster}],
        "users": [{"name": "democluster", "user": user}],
        "contexts": [
            {
                "name": "democluster",
                "context": {"cluster": "democluster", "user": "democluster", "namespace": "default"},
            }
        ],
        "current-context": "democluster",
        "preferences": {},
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    target.chmod(0o600)


def _optional(module: str, name: str) -> Any:
    try:
        mod = __import__(module, fromlist=[name])
    except ImportError as exc:
        print(f"democluster: {module} unavailable ({exc}); continuing without it", file=sys.stderr)
        return None
    return getattr(mod, name, None)


async def run(args: argparse.Namespace) -> None:
    config = SimConfig(nodes=args.nodes, time_scale=0.05 if args.fast else args.time_scale)
    store = Store()
    admission.register(store)
    loaded = False
    if args.snapshot and not args.fresh and Path(args.snapshot).exists():
        store.load(Path(args.snapshot).read_bytes())
        loaded = True

    token_specs = list(args.token)
    if args.token_file:
        token_specs += [line for line in Path(args.token_file).read_text().splitlines() if line.strip()]
    tokens = parse_tokens(token_specs, args.user)
    bookmark_interval = args.bookmark_interval or (1.0 if args.fast else 5.0)
    audit_log = open(args.audit_log_path, "a") if args.audit_log_path else None  # noqa: SIM115 - open while serving
    api = ApiServer(store, tokens, bookmark_interval=bookmark_interval, audit_log=audit_log)

    tasks: list[asyncio.Task] = []
    start_controllers = _optional("democluster.controllers", "start")
    if start_controllers is not None:
        tasks += list(start_controllers(store, config) or [])
    if not loaded and not args.no_scenario:
        load_default = _optional("democluster.scenario", "load_default")
        if load_default is not None:
            result = load_default(store, config)
            if asyncio.iscoroutine(result):
                await result
    if args.scale_workloads or args.scale_pods or args.scale_bench:
        generate = _optional("democluster.scale", "generate")
        if generate is not None:
            generate(
                store,
                workloads=args.scale_workloads,
                pods=args.scale_pods,
                bench=args.scale_bench,
                around=args.scale_around,
            )
    # What is stored now lives as long as the server: keep it out of the collector's full passes.
    gc.freeze()
    if args.churn:
        churn = _optional("democluster.scale", "churn")
        if churn is not None:
            tasks.append(asyncio.create_task(churn(store, rate=args.churn, mix=args.churn_mix)))

    ssl_context = None
    ca_pem = None
    with tempfile.TemporaryDirectory(prefix="democluster-tls-") as tmp:
        if args.tls:
            cert, key = make_certificate(Path(tmp), args.host)
            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(cert, key)
            ca_pem = cert.read_bytes()
        runner, port = await start_server(api.app(), args.host, args.port, ssl_context)
    scheme = "https" if args.tls else "http"
    url = f"{scheme}://{args.host}:{port}"
    if args.write_kubeconfig:
        write_kubeconfig(args.write_kubeconfig, url, next(iter(tokens), None), ca_pem)
    print(f"democluster listening on {url}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if args.snapshot:
        tmp_path = Path(args.snapshot + ".tmp")
        tmp_path.write_bytes(store.dump())
        os.replace(tmp_path, args.snapshot)
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runner.cleanup(), timeout=3)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # The heap is the stored objects and the watch history: JSON-shaped dicts, millions at scale, which hold no
    # reference cycles. A full collection walks all of them (0.4 s at 10,000 Pods under churn, a stall of every
    # watch, a fifth of the CPU at 2,000 changes/s): collect the young often enough for asyncio's cycles, the old
    # seldom.
    gc.set_threshold(20_000, 50, 100)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
