"""Container logs: ``GET /api/v1/namespaces/{ns}/pods/{name}/log``, as kube-apiserver and the kubelet answer it.

No container runs, so its output is simulated from what the Pod says it runs, and is a pure function of the
Pod, the container and the instance (restart count, startedAt, finishedAt): the same request always reads the
same lines, and following one reads, as time passes, the lines a read would have shown by then.

- ``echo`` commands (``sh -c 'echo "Hello, Kubernetes!" && sleep 3600'``) print what they echo, ``date`` the
  date; ``while true; do echo …; sleep N; done`` prints every N seconds; redirected commands print nothing.
- Web images (nginx, httpd, …) print their start-up banner, then one access-log line every two seconds.
- Other long-running images print a few start-up lines and a health line every ten seconds.
- A container that ends with a non-zero exit code (a scripted crash, see README.md) prints an error and a
  stack trace just before it ends.
- The Pod annotation ``democluster.podium.dev/log-rate: "20"`` makes every app container print that many
  access-log lines a second (benchmarks).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import shlex
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from democluster.errors import ApiError, bad_request, not_found
from democluster.resources import PODS
from democluster.store import Obj, Store

LOG_RATE_ANNOTATION = "democluster.podium.dev/log-rate"
WEB_IMAGES = ("nginx", "httpd", "caddy", "traefik", "envoy", "haproxy")
WEB_RATE = 0.5  # access-log lines a second
HEALTH_PERIOD = 10.0
FOLLOW_POLL = 0.2  # seconds between two looks at the Pod while following
PATHS = ("/", "/index.html", "/healthz", "/api/items", "/api/items/42", "/static/app.js", "/favicon.ico", "/cart")
AGENTS = ("kube-probe/1.32", "Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "Go-http-client/1.1")
STATUSES = (200, 200, 200, 200, 200, 304, 200, 404, 200, 500)


# --- what a container prints ------------------------------------------------------------------------------------


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(str(p) for p in parts).encode()).digest()[:8], "big")


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def format_time(t: float) -> str:
    """RFC 3339 with nanoseconds, as the kubelet prefixes lines with ``timestamps=true``."""
    whole = math.floor(t)
    nanos = int(round((t - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _clauses(script: str) -> list[str]:
    return [c.strip() for c in re.split(r"&&|\|\||;|\n|\bdo\b|\bdone\b|\bthen\b|\bfi\b", script) if c.strip()]


def _echo_text(clause: str, at: float) -> str | None:
    """What one simple shell command prints, or None: ``echo`` and ``date``, unless redirected."""
    try:
        words = shlex.split(clause)
    except ValueError:
        words = clause.split()
    if not words or any(w.startswith(">") or w in (">", ">>", "1>", "2>") for w in words):
        return None
    if words[0] == "echo":
        args = words[1:]
        while args and re.fullmatch(r"-[neE]+", args[0]):
            args = args[1:]
        return " ".join(args)
    if words[0] == "date":
        return datetime.fromtimestamp(at, UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    return None


def _script(container: Obj) -> str:
    parts = [str(p) for p in (container.get("command") or []) + (container.get("args") or [])]
    if len(parts) >= 3 and parts[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash") and parts[1] == "-c":
        return parts[2]
    return " ".join(shlex.quote(p) for p in parts)


def _image_base(container: Obj) -> str:
    image = (container.get("image") or "").rsplit("/", 1)[-1]
    return image.split(":", 1)[0].split("@", 1)[0]


@dataclass
class Instance:
    """One run of a container: what it prints is a function of these."""

    pod: str
    namespace: str
    container: Obj
    init: bool
    restart: int
    started: float
    finished: float | None  # None: still running
    exit_code: int | None
    container_id: str
    rate: float  # periodic lines a second (0: none)
    pod_ip: str

    @property
    def seed(self) -> tuple:
        return (self.namespace, self.pod, self.container.get("name"), self.restart)


def _startup(instance: Instance) -> list[str]:
    c = instance.container
    script = _script(c)
    if not script:
        return _default_startup(instance)
    head = re.split(r"\bwhile\b", script, maxsplit=1)[0]
    return [t for t in (_echo_text(clause, instance.started) for clause in _clauses(head)) if t is not None]


def _default_startup(instance: Instance) -> list[str]:
    c = instance.container
    base = _image_base(c)
    stamp = datetime.fromtimestamp(instance.started, UTC).strftime("%Y/%m/%d %H:%M:%S")
    if instance.init:
        return [f"{c.get('name')}: done"]
    if base in WEB_IMAGES:
        version = (c.get("image") or "").rsplit(":", 1)[-1] if ":" in (c.get("image") or "") else "1.27.3"
        return [
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
            "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
            "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
            f'{stamp} [notice] 1#1: using the "epoll" event method',
            f"{stamp} [notice] 1#1: {base}/{version}",
            f"{stamp} [notice] 1#1: start worker processes",
        ]
    ports = [p.get("containerPort") for p in c.get("ports") or [] if p.get("containerPort")]
    lines = [
        f'level=info msg="starting {c.get("name")}" image="{c.get("image", "")}"',
        'level=info msg="configuration loaded" source=env',
    ]
    if ports:
        lines.append(f'level=info msg="listening" addr=":{ports[0]}"')
    return lines


def _loop(instance: Instance) -> tuple[float, list[str]] | None:
    """``while true; do echo …; sleep N; done``: (period, the clauses that print)."""
    script = _script(instance.container)
    match = re.search(r"\bwhile\b.*?\bdo\b(.*?)\bdone\b", script, re.S)
    if not match:
        return None
    body = match.group(1)
    sleeps = [float(n) for n in re.findall(r"\bsleep\s+(\d+(?:\.\d+)?)", body)]
    printing = [c for c in _clauses(body) if _echo_text(c, 0) is not None]
    if not printing:
        return None
    return (max(sum(sleeps), 0.1) if sleeps else 1.0), printing


def _periodic(instance: Instance, k: int, at: float, loop: tuple[float, list[str]] | None) -> str:
    d = _digest(*instance.seed, k)
    if loop is not None:
        return "\n".join(t for t in (_echo_text(c, at) for c in loop[1]) if t is not None)
    if instance.rate:
        client = f"10.244.{d % 4}.{(d >> 8) % 250 + 2}"
        path = PATHS[(d >> 16) % len(PATHS)]
        code = STATUSES[(d >> 24) % len(STATUSES)]
        size = 100 + (d >> 32) % 9000
        agent = AGENTS[(d >> 40) % len(AGENTS)]
        stamp = datetime.fromtimestamp(at, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        return f'{client} - - [{stamp}] "GET {path} HTTP/1.1" {code} {size} "-" "{agent}" "-"'
    return f'level=info msg="healthy" uptime={int(at - instance.started)}s goroutines={12 + d % 9}'


def _crash(instance: Instance) -> list[str]:
    d = _digest(*instance.seed, "crash")
    name = instance.container.get("name")
    reasons = (
        "dial tcp 10.96.0.12:5432: connect: connection refused",
        "open /etc/config/app.yaml: no such file or directory",
        "runtime error: invalid memory address or nil pointer dereference",
    )
    reason = reasons[d % len(reasons)]
    return [
        f'level=error msg="{name} cannot start" err="{reason}"',
        f"panic: {reason}",
        "",
        "goroutine 1 [running]:",
        "main.mustConnect(...)",
        "\t/src/cmd/server/main.go:87",
        "main.main()",
        "\t/src/cmd/server/main.go:41 +0x1d5",
        f"exit status {instance.exit_code}",
    ]


def _period(instance: Instance, loop: tuple[float, list[str]] | None) -> float | None:
    if loop is not None:
        return loop[0]
    if instance.init:
        return None
    if instance.rate:
        return 1.0 / instance.rate
    if _script(instance.container):
        return None  # a command of its own: it prints what it echoes, nothing else
    return HEALTH_PERIOD


def lines_between(instance: Instance, start: float, end: float, tail: int | None = None) -> list[tuple[float, str]]:
    """The instance's lines with start <= time < end, in order (at most the last ``tail`` of them)."""
    offset = (_digest(*instance.seed, "offset") % 500) / 1000.0
    last = instance.finished
    if last is not None:
        # It printed before it ended: a short run (startedAt and finishedAt count whole seconds) starts at once.
        offset = min(offset, max(last - instance.started, 0.0) / 2)
    boot = instance.started + offset
    out: list[tuple[float, str]] = []
    startup = _startup(instance)
    for i, text in enumerate(startup):
        out.append((boot + i * 0.0007, text))
    loop = _loop(instance)
    period = _period(instance, loop)
    if period:
        first = boot + len(startup) * 0.0007 + period
        stop = min(end, last) if last is not None else end
        low = max(0, math.ceil((start - first) / period))
        high = math.ceil((stop - first) / period)  # exclusive
        if tail is not None:
            low = max(low, high - tail)
        for k in range(low, max(low, high)):
            at = first + k * period
            for j, text in enumerate(_periodic(instance, k, at, loop).split("\n")):
                out.append((at + j * 0.0001, text))
    if last is not None and instance.exit_code not in (None, 0):
        at = max(last, boot + len(startup) * 0.0007)
        for i, text in enumerate(_crash(instance)):
            out.append((at + i * 0.0001, text))
    out = [(t, text) for t, text in out if start <= t < end]
    out.sort(key=lambda item: item[0])
    return out[-tail:] if tail is not None else out


# --- finding the instance -------------------------------------------------------------------------------------------


def _container_status(pod: Obj, name: str) -> tuple[Obj | None, Obj | None, bool]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    for key, statuses, init in (
        ("containers", "containerStatuses", False),
        ("initContainers", "initContainerStatuses", True),
    ):
        for c in spec.get(key) or []:
            if c.get("name") == name:
                found = next((s for s in status.get(statuses) or [] if s.get("name") == name), None)
                return c, found, init
    return None, None, False


def _rate(pod: Obj, container: Obj, init: bool) -> float:
    if init:
        return 0.0
    value = (pod["metadata"].get("annotations") or {}).get(LOG_RATE_ANNOTATION)
    if value:
        try:
            return max(0.0, min(float(value), 1000.0))
        except ValueError:
            pass
    return WEB_RATE if _image_base(container) in WEB_IMAGES else 0.0


def instance_for(pod: Obj, container_name: str, *, previous: bool) -> Instance:
    """The container instance a log request reads, or the kubelet's error."""
    name = pod["metadata"]["name"]
    container, status, init = _container_status(pod, container_name)
    if container is None:
        raise bad_request(f"container {container_name} is not valid for pod {name}")
    if status is None:
        raise bad_request(f'container "{container_name}" in pod "{name}" is waiting to start: ContainerCreating')
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated")
    restart = int(status.get("restartCount") or 0)
    if previous:
        if not last or not last.get("containerID"):
            raise bad_request(f'previous terminated container "{container_name}" in pod "{name}" not found')
        chosen, restart = last, max(restart - 1, 0)
    elif "running" in state:
        chosen = {**state["running"], "containerID": status.get("containerID", "")}
    elif "terminated" in state and state["terminated"].get("containerID"):
        chosen = state["terminated"]
    elif last and last.get("containerID"):
        chosen, restart = last, max(restart - 1, 0)
    elif "terminated" in state:
        raise bad_request(f'container "{container_name}" in pod "{name}" is terminated')
    else:
        reason = (state.get("waiting") or {}).get("reason") or ""
        text = {
            "ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image",
        }.get(reason, reason)
        if not text:
            raise bad_request(f'container "{container_name}" in pod "{name}" is waiting to start - no logs yet')
        raise bad_request(f'container "{container_name}" in pod "{name}" is waiting to start: {text}')
    started = parse_time(chosen.get("startedAt")) or time.time()
    return Instance(
        pod=name,
        namespace=pod["metadata"]["namespace"],
        container=container,
        init=init,
        restart=restart,
        started=started,
        finished=parse_time(chosen.get("finishedAt")),
        exit_code=chosen.get("exitCode"),
        container_id=chosen.get("containerID", ""),
        rate=_rate(pod, container, init),
        pod_ip=(pod.get("status") or {}).get("podIP", ""),
    )


# --- the request -------------------------------------------------------------------------------------------------


@dataclass
class LogOptions:
    container: str
    follow: bool
    previous: bool
    timestamps: bool
    tail_lines: int | None
    since: float | None  # unix time
    limit_bytes: int | None


def _invalid(name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    text = ", ".join(f"{field}: {message}" for field, _, message in causes)
    return ApiError(
        422,
        "Invalid",
        f'PodLogOptions "{name}" is invalid: {text}',
        {
            "name": name,
            "kind": "PodLogOptions",
            "causes": [{"reason": reason, "message": message, "field": field} for field, reason, message in causes],
        },
    )


def parse_options(request: web.Request, pod: Obj, parse_bool: object, parse_int: object) -> LogOptions:
    query = request.query
    name = pod["metadata"]["name"]
    follow = parse_bool(query.get("follow"), "follow")  # type: ignore[operator]
    previous = parse_bool(query.get("previous"), "previous")  # type: ignore[operator]
    timestamps = parse_bool(query.get("timestamps"), "timestamps")  # type: ignore[operator]
    tail = parse_int(query.get("tailLines"), "tailLines")  # type: ignore[operator]
    since_seconds = parse_int(query.get("sinceSeconds"), "sinceSeconds")  # type: ignore[operator]
    limit = parse_int(query.get("limitBytes"), "limitBytes")  # type: ignore[operator]
    since_time_text = query.get("sinceTime")
    causes: list[tuple[str, str, str]] = []
    if tail is not None and tail < 0:
        causes.append(("tailLines", "FieldValueInvalid", f"Invalid value: {tail}: must be greater than or equal to 0"))
    if limit is not None and limit < 1:
        causes.append(("limitBytes", "FieldValueInvalid", f"Invalid value: {limit}: must be greater than 0"))
    if since_seconds is not None and since_seconds < 1:
        causes.append(("sinceSeconds", "FieldValueInvalid", f"Invalid value: {since_seconds}: must be greater than 0"))
    if since_seconds is not None and since_time_text:
        forbidden = "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
        causes.append(("", "FieldValueForbidden", forbidden))
    if causes:
        raise _invalid(name, causes)
    since = None
    if since_time_text:
        since = parse_time(since_time_text)
        if since is None:
            raise bad_request(f'parsing time "{since_time_text}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    elif since_seconds is not None:
        since = time.time() - since_seconds
    container = query.get("container") or ""
    if not container:
        spec = pod.get("spec") or {}
        names = [c["name"] for c in spec.get("containers") or []]
        if len(names) == 1:
            container = names[0]
        else:
            # As kube-apiserver 1.36 says it: init containers first, in one list.
            every = [c["name"] for c in spec.get("initContainers") or []] + names
            raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]")
    return LogOptions(container, follow, previous, timestamps, tail, since, limit)


def _render(lines: list[tuple[float, str]], timestamps: bool) -> bytes:
    if timestamps:
        return b"".join(f"{format_time(t)} {text}\n".encode() for t, text in lines)
    return b"".join(f"{text}\n".encode() for _, text in lines)


async def serve(
    request: web.Request, store: Store, namespace: str, name: str, parse_bool: object, parse_int: object
) -> web.StreamResponse:
    pod = store.try_get(PODS, namespace, name)
    if pod is None:
        raise not_found(PODS, name)
    options = parse_options(request, pod, parse_bool, parse_int)
    if not (pod.get("spec") or {}).get("nodeName"):
        # Not scheduled: kube-apiserver has no kubelet to ask and answers an empty body.
        return web.Response(body=b"", content_type="text/plain")
    instance = instance_for(pod, options.container, previous=options.previous)
    now = time.time()
    since = options.since if options.since is not None else 0.0
    lines = lines_between(instance, since, now, options.tail_lines)
    body = _render(lines, options.timestamps)
    if options.limit_bytes is not None:
        body = body[: options.limit_bytes]
    if not options.follow or options.previous or instance.finished is not None:
        return web.Response(body=body, content_type="text/plain")
    return await _follow(request, store, pod, instance, options, body, now)


async def _follow(
    request: web.Request, store: Store, pod: Obj, instance: Instance, options: LogOptions, body: bytes, now: float
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = len(body)
    uid = pod["metadata"]["uid"]
    try:
        if body:
            await response.write(body)
        cursor = now
        while options.limit_bytes is None or sent < options.limit_bytes:
            await asyncio.sleep(FOLLOW_POLL)
            current = store.try_get(PODS, instance.namespace, instance.pod)
            ended = current is None or current["metadata"]["uid"] != uid
            if not ended:
                try:
                    latest = instance_for(current, options.container, previous=False)
                except ApiError:
                    latest = None
                if latest is None or latest.container_id != instance.container_id:
                    ended = True
                elif latest.finished is not None:
                    instance, ended = latest, True
            # An instance that finished prints the rest of its lines (its crash); one that vanished, nothing more.
            until = math.inf if ended and instance.finished is not None else time.time()
            chunk = _render(lines_between(instance, cursor, until), options.timestamps)
            cursor = until
            if options.limit_bytes is not None:
                chunk = chunk[: options.limit_bytes - sent]
            if chunk:
                await response.write(chunk)
                sent += len(chunk)
            if ended:
                break
    except (ConnectionResetError, asyncio.CancelledError):
        return response
    try:
        await response.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass
    return response
