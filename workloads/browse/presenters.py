"""What the Browse pages show, worked out from mirror rows and their raw Kubernetes objects.

Pure functions over dicts and rows: no queries, no requests. The views fetch, these decide, the
templates draw. Everything read from ``raw`` is read defensively: a field may be missing, null or
of a shape an older or newer API server sends.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from workloads import status
from workloads.objects import dig, normalized_template, parse_time, pod_template_of
from workloads.redaction import HIDDEN, looks_secret, mask_text, redact_annotations

# --- ages -------------------------------------------------------------------------------------------------------------


# The actions of the audit trail (ChangeRecord.action), in the reader's language; in English, the codes themselves.
ACTIONS = {
    "edit": pgettext_lazy("audit action", "edit"),
    "edit-yaml": pgettext_lazy("audit action", "edit-yaml"),
    "apply": pgettext_lazy("audit action", "apply"),
    "recreate": pgettext_lazy("audit action", "recreate"),
    "scale": pgettext_lazy("audit action", "scale"),
    "pause": pgettext_lazy("audit action", "pause"),
    "resume": pgettext_lazy("audit action", "resume"),
    "restart": pgettext_lazy("audit action", "restart"),
    "undo": pgettext_lazy("audit action", "undo"),
    "delete-pod": pgettext_lazy("audit action", "delete-pod"),
    "apply-manifest": pgettext_lazy("audit action", "apply-manifest"),
    "preview-manifest": pgettext_lazy("audit action", "preview-manifest"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def age_unit(unit: str) -> str:
    """A duration unit in the reader's language (kubectl's letters in English: 5m30s; 5分30秒 in Chinese)."""
    return {
        "s": pgettext("duration unit: seconds, as in 45s", "s"),
        "m": pgettext("duration unit: minutes, as in 5m", "m"),
        "h": pgettext("duration unit: hours, as in 3h", "h"),
        "d": pgettext("duration unit: days, as in 2d", "d"),
        "y": pgettext("duration unit: years, as in 2y", "y"),
    }[unit]


@functools.lru_cache(maxsize=64)
def _age_units(language: str | None) -> tuple[str, str, str, str, str]:
    return tuple(age_unit(u) for u in "smhdy")  # in the language active now, which is ``language``


def age(since: datetime | None, now: datetime) -> str:
    """kubectl's short human duration: 45s, 5m30s, 45m, 3h5m, 30h, 2d3h, 45d, 2y45d (its units translated)."""
    if since is None:
        return "–"
    seconds = int((now - since).total_seconds())
    if seconds < 0:
        seconds = 0
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    s, m, h, d, y = _age_units(translation.get_language())
    if seconds < 120:
        return f"{seconds}{s}"
    if minutes < 10:
        return f"{minutes}{m}{seconds % 60}{s}" if seconds % 60 else f"{minutes}{m}"
    if hours < 3:
        return f"{minutes}{m}"
    if hours < 8:
        return f"{hours}{h}{minutes % 60}{m}" if minutes % 60 else f"{hours}{h}"
    if hours < 48:
        return f"{hours}{h}"
    if hours < 24 * 8:
        return f"{days}{d}{hours % 24}{h}" if hours % 24 else f"{days}{d}"
    if days < 365 * 2:
        return f"{days}{d}"
    years = days // 365
    return f"{years}{y}{days % 365}{d}" if days % 365 else f"{years}{y}"


# --- workload and Pod status live in workloads.status, shared with the sync layer ----------------------------------

Status = status.Status
workload_status = status.workload_status
pod_status_text = status.pod_status_text


def pod_state(phase: str, ready: bool, status_text: str) -> str:
    """One word for colouring a Pod: ready, pending, failed, succeeded, waiting or terminating."""
    text = status_text or phase
    if text == "Terminating":
        return "terminating"
    if phase == "Succeeded" or text == "Completed":
        return "succeeded"
    if phase == "Failed" or text in {"Error", "OOMKilled", "Evicted"} or "BackOff" in text or "Err" in text:
        return "failed"
    if phase == "Running" and ready:
        return "ready"
    if phase == "Running":
        return "waiting"
    return "pending"


def _ago(when: datetime) -> str:
    return age(when, timezone.now())


@dataclass
class ContainerStateView:
    state: str
    reason: str
    detail: str


def _state_view(state: dict) -> ContainerStateView:
    if not state:
        return ContainerStateView("unknown", "", "")
    if "running" in state:
        started = parse_time(dig(state, "running", "startedAt"))
        return ContainerStateView("running", "", _("for %(age)s") % {"age": _ago(started)} if started else "")
    if "waiting" in state:
        w = state.get("waiting") or {}
        return ContainerStateView("waiting", w.get("reason", ""), w.get("message", ""))
    t = state.get("terminated") or {}
    detail = _("exit code %(c)s") % {"c": t.get("exitCode")}
    if finished := parse_time(t.get("finishedAt")):
        detail += " · " + _("finished %(age)s ago") % {"age": _ago(finished)}
    if t.get("message"):
        detail += " · " + t["message"]
    return ContainerStateView("terminated", t.get("reason", ""), detail)


# --- Pod templates ----------------------------------------------------------------------------------------------------


@dataclass
class EnvEntry:
    name: str
    value: str = ""
    reference: str = ""
    hidden: bool = False


def env_entries(container: dict) -> list[EnvEntry]:
    """Env vars, with valueFrom as a reference ("secret db-creds key password") and never a value."""
    entries = []
    for env in container.get("env") or []:
        if not isinstance(env, dict):
            continue
        name = str(env.get("name", ""))
        source = env.get("valueFrom")
        if isinstance(source, dict) and source:
            entries.append(EnvEntry(name, reference=env_reference(source)))
        elif looks_secret(name) and env.get("value"):
            entries.append(EnvEntry(name, value=HIDDEN, hidden=True))
        else:
            entries.append(EnvEntry(name, value=mask_text(str(env.get("value", "")))))
    return entries


def env_reference(source: dict) -> str:
    if ref := source.get("secretKeyRef"):
        text = _("secret %(n)s key %(k)s") % {"n": ref.get("name", "?"), "k": ref.get("key", "?")}
    elif ref := source.get("configMapKeyRef"):
        text = _("config map %(n)s key %(k)s") % {"n": ref.get("name", "?"), "k": ref.get("key", "?")}
    elif ref := source.get("fieldRef"):
        return _("field %(f)s") % {"f": ref.get("fieldPath", "?")}
    elif ref := source.get("resourceFieldRef"):
        text = _("resource %(r)s") % {"r": ref.get("resource", "?")}
        if ref.get("containerName"):
            text += " " + _("of container %(c)s") % {"c": ref["containerName"]}
        return text
    else:
        return _("from %(k)s") % {"k": ", ".join(sorted(source))}
    if ref.get("optional"):
        text += " " + _("(optional)")
    return text


def env_from_entries(container: dict) -> list[str]:
    out = []
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix")
        if ref := src.get("secretRef"):
            text = _("all keys of secret %(n)s") % {"n": ref.get("name", "?")}
        elif ref := src.get("configMapRef"):
            text = _("all keys of config map %(n)s") % {"n": ref.get("name", "?")}
        else:
            text = json.dumps(src, sort_keys=True)
        if prefix:
            text += " " + _("with prefix %(p)s") % {"p": prefix}
        out.append(text)
    return out


def probe_text(probe: dict | None) -> str:
    if not isinstance(probe, dict) or not probe:
        return ""
    if http := probe.get("httpGet"):
        what = f"http-get {http.get('scheme', 'HTTP').lower()}://:{http.get('port', '')}{http.get('path', '/')}"
    elif tcp := probe.get("tcpSocket"):
        what = f"tcp-socket :{tcp.get('port', '')}"
    elif grpc := probe.get("grpc"):
        what = f"grpc :{grpc.get('port', '')}"
    elif ex := probe.get("exec"):
        what = "exec " + " ".join(str(c) for c in ex.get("command") or [])
    else:
        what = "?"
    bits = [what]
    for key, label in (
        ("initialDelaySeconds", "delay"),
        ("timeoutSeconds", "timeout"),
        ("periodSeconds", "period"),
        ("failureThreshold", "#failure"),
    ):
        if key in probe:
            bits.append(f"{label}={probe[key]}{'' if key == 'failureThreshold' else 's'}")
    return " ".join(bits)


def resources_text(resources: dict | None) -> list[str]:
    out = []
    for section in ("requests", "limits"):
        values = (resources or {}).get(section) or {}
        if values:
            out.append(f"{section}: " + ", ".join(f"{k} {v}" for k, v in sorted(values.items())))
    return out


def ports_text(container: dict) -> list[str]:
    out = []
    for port in container.get("ports") or []:
        text = f"{port.get('containerPort', '?')}/{port.get('protocol', 'TCP')}"
        if port.get("name"):
            text = f"{port['name']} {text}"
        if port.get("hostPort"):
            text += f" (host {port['hostPort']})"
        out.append(text)
    return out


@dataclass
class ContainerView:
    name: str
    role: str  # container, init, sidecar, ephemeral
    image: str
    command: list[str]
    args: list[str]
    env: list[EnvEntry]
    env_from: list[str]
    ports: list[str]
    resources: list[str]
    probes: list[tuple[str, str]]
    mounts: list[str]
    pull_policy: str = ""
    status: dict | None = None
    state: ContainerStateView | None = None
    last_state: ContainerStateView | None = None


def container_view(container: dict, role: str, status: dict | None = None) -> ContainerView:
    probes = [
        (label, text)
        for label, key in (
            (_("liveness probe"), "livenessProbe"),
            (_("readiness probe"), "readinessProbe"),
            (_("startup probe"), "startupProbe"),
        )
        if (text := probe_text(container.get(key)))
    ]
    mounts = []
    for m in container.get("volumeMounts") or []:
        text = f"{m.get('name', '?')} → {m.get('mountPath', '?')}"
        if m.get("subPath"):
            text += f" (subPath {m['subPath']})"
        if m.get("readOnly"):
            text += " (ro)"
        mounts.append(text)
    view = ContainerView(
        name=str(container.get("name", "")),
        role=role,
        image=str(container.get("image", "")),
        command=[mask_text(str(c)) for c in container.get("command") or []],
        args=[mask_text(str(a)) for a in container.get("args") or []],
        env=env_entries(container),
        env_from=env_from_entries(container),
        ports=ports_text(container),
        resources=resources_text(container.get("resources")),
        probes=probes,
        mounts=mounts,
        pull_policy=str(container.get("imagePullPolicy", "")),
    )
    if status is not None:
        view.status = status
        view.state = _state_view(status.get("state") or {})
        view.last_state = _state_view(status["lastState"]) if status.get("lastState") else None
    return view


def containers_of(spec: dict, statuses: dict | None = None) -> list[ContainerView]:
    """Init containers (sidecars are those with restartPolicy Always), containers, then ephemeral ones."""
    statuses = statuses or {}
    out = []
    for c in spec.get("initContainers") or []:
        role = "sidecar" if c.get("restartPolicy") == "Always" else "init"
        out.append(container_view(c, role, statuses.get(("init", c.get("name")))))
    for c in spec.get("containers") or []:
        out.append(container_view(c, "container", statuses.get(("container", c.get("name")))))
    for c in spec.get("ephemeralContainers") or []:
        out.append(container_view(c, "ephemeral", statuses.get(("ephemeral", c.get("name")))))
    return out


def container_statuses(raw: dict) -> dict:
    status = raw.get("status") or {}
    out = {}
    for key, role in (
        ("initContainerStatuses", "init"),
        ("containerStatuses", "container"),
        ("ephemeralContainerStatuses", "ephemeral"),
    ):
        for cs in status.get(key) or []:
            out[(role, cs.get("name"))] = cs
    return out


def volume_text(volume: dict) -> tuple[str, str]:
    """(name, "emptyDir (Memory)" / "secret db-creds" / "configMap web-config" / ...)."""
    name = str(volume.get("name", "?"))
    for key, value in volume.items():
        if key == "name":
            continue
        value = value if isinstance(value, dict) else {}
        if key == "secret":
            return name, _("secret %(n)s") % {"n": value.get("secretName", "?")}
        if key == "configMap":
            return name, _("config map %(n)s") % {"n": value.get("name", "?")}
        if key == "persistentVolumeClaim":
            return name, _("claim %(n)s") % {"n": value.get("claimName", "?")}
        if key == "emptyDir":
            return name, "emptyDir" + (f" ({value['medium']})" if value.get("medium") else "")
        if key == "hostPath":
            return name, f"hostPath {value.get('path', '?')}"
        return name, key
    return name, "?"


@dataclass
class TemplateView:
    containers: list[ContainerView]
    volumes: list[tuple[str, str]]
    labels: dict
    annotations: dict
    node_selector: dict
    service_account: str
    restart_policy: str
    extra: list[tuple[str, str]] = field(default_factory=list)


def template_view(pod_template: dict, raw_pod: dict | None = None) -> TemplateView:
    spec = pod_template.get("spec") or {}
    meta = pod_template.get("metadata") or {}
    statuses = container_statuses(raw_pod) if raw_pod else None
    extra = []
    for key, label in (
        ("priorityClassName", _("priority class")),
        ("hostNetwork", _("host network")),
        ("dnsPolicy", _("DNS policy")),
        ("terminationGracePeriodSeconds", _("termination grace")),
    ):
        if key in spec:
            extra.append((label, str(spec[key])))
    if spec.get("tolerations"):
        extra.append((_("tolerations"), str(len(spec["tolerations"]))))
    if spec.get("affinity"):
        extra.append((_("affinity"), ", ".join(sorted(spec["affinity"]))))
    return TemplateView(
        containers=containers_of(spec, statuses),
        volumes=[volume_text(v) for v in spec.get("volumes") or [] if isinstance(v, dict)],
        labels=dict(meta.get("labels") or {}),
        annotations=redact_annotations(meta.get("annotations") or {}),
        node_selector=dict(spec.get("nodeSelector") or {}),
        service_account=str(spec.get("serviceAccountName") or spec.get("serviceAccount") or ""),
        restart_policy=str(spec.get("restartPolicy", "")),
        extra=extra,
    )


# --- template diff ----------------------------------------------------------------------------------------------------

_CONTAINER_FIELDS = {
    "image": gettext_lazy("image"),
    "env": gettext_lazy("env"),
    "envFrom": gettext_lazy("envFrom"),
    "resources": gettext_lazy("resources"),
    "command": gettext_lazy("command"),
    "args": gettext_lazy("args"),
    "ports": gettext_lazy("ports"),
    "livenessProbe": gettext_lazy("liveness probe"),
    "readinessProbe": gettext_lazy("readiness probe"),
    "startupProbe": gettext_lazy("startup probe"),
    "volumeMounts": gettext_lazy("volume mounts"),
    "imagePullPolicy": gettext_lazy("image pull policy"),
    "securityContext": gettext_lazy("security context"),
    "workingDir": gettext_lazy("working dir"),
    "lifecycle": gettext_lazy("lifecycle"),
    "restartPolicy": gettext_lazy("restart policy"),
}
_SPEC_FIELDS = {
    "volumes": gettext_lazy("volumes"),
    "nodeSelector": gettext_lazy("node selector"),
    "serviceAccountName": gettext_lazy("service account"),
    "serviceAccount": gettext_lazy("service account"),
    "affinity": gettext_lazy("affinity"),
    "tolerations": gettext_lazy("tolerations"),
    "securityContext": gettext_lazy("pod security context"),
    "imagePullSecrets": gettext_lazy("image pull secrets"),
    "restartPolicy": gettext_lazy("restart policy"),
    "terminationGracePeriodSeconds": gettext_lazy("termination grace period"),
    "priorityClassName": gettext_lazy("priority class"),
    "hostNetwork": gettext_lazy("host network"),
    "dnsPolicy": gettext_lazy("DNS policy"),
}


def _container_kind_label(key: str) -> str:
    return {"initContainers": _("init container"), "ephemeralContainers": _("ephemeral container")}.get(
        key, _("container")
    )


def template_diff(current: dict, other: dict) -> list[str]:
    """Where `other` differs from `current`: ["image of container web", "labels", ...], in a stable order."""
    a, b = normalized_template(current), normalized_template(other)
    out: list[str] = []
    if a["metadata"]["labels"] != b["metadata"]["labels"]:
        out.append(_("labels"))
    if a["metadata"]["annotations"] != b["metadata"]["annotations"]:
        out.append(_("annotations"))
    spec_a, spec_b = a.get("spec") or {}, b.get("spec") or {}
    for key in ("initContainers", "containers", "ephemeralContainers"):
        by_name_a = {c.get("name"): c for c in spec_a.get(key) or [] if isinstance(c, dict)}
        by_name_b = {c.get("name"): c for c in spec_b.get(key) or [] if isinstance(c, dict)}
        what = _container_kind_label(key)
        names = list(by_name_a) + [n for n in by_name_b if n not in by_name_a]
        for name in names:
            ca, cb = by_name_a.get(name), by_name_b.get(name)
            if ca is None:
                out.append(_("extra %(what)s %(name)s") % {"what": what, "name": name})
                continue
            if cb is None:
                out.append(_("missing %(what)s %(name)s") % {"what": what, "name": name})
                continue
            for fkey in [*ca, *(k for k in cb if k not in ca)]:
                if fkey == "name" or ca.get(fkey) == cb.get(fkey):
                    continue
                label = _CONTAINER_FIELDS.get(fkey, fkey)
                out.append(_("%(field)s of %(what)s %(name)s") % {"field": label, "what": what, "name": name})
        if list(by_name_a) != list(by_name_b) and set(by_name_a) == set(by_name_b):
            out.append(_("order of %(what)ss") % {"what": what})
    seen = set()
    for key in [*spec_a, *(k for k in spec_b if k not in spec_a)]:
        if key in ("initContainers", "containers", "ephemeralContainers") or spec_a.get(key) == spec_b.get(key):
            continue
        label = str(_SPEC_FIELDS.get(key, key))
        if label not in seen:
            seen.add(label)
            out.append(label)
    return out


# --- revisions and Pods -----------------------------------------------------------------------------------------------


@dataclass
class Revision:
    """A ReplicaSet, ControllerRevision or (for a CronJob) Job, from a TemplateRevision or a Workload row."""

    uid: str
    kind: str
    name: str
    revision: int
    template_hash: str
    pod_template: dict
    created_at: datetime | None = None
    change_cause: str = ""
    has_page: bool = False


@dataclass
class RevisionGroup:
    revision: Revision | None
    current: bool
    differences: list[str]
    pods: list = field(default_factory=list)
    total: int = 0
    ready: int = 0

    @property
    def key(self) -> str:
        return self.revision.uid if self.revision else "unmatched"


def hash_key(value: str, workload_name: str) -> str:
    """A StatefulSet labels Pods `<sts>-<hash>`, a DaemonSet `<hash>`; its ControllerRevisions are `<name>-<hash>`."""
    value = value or ""
    prefix = f"{workload_name}-"
    return value[len(prefix) :] if value.startswith(prefix) else value


def current_revision(kind: str, raw: dict, name: str, column: str, revisions: Sequence[Revision]) -> Revision | None:
    """The revision a workload is rolling towards: what its Pods should all be made from."""
    if not revisions:
        return None
    if kind == "StatefulSet" and (update := dig(raw, "status", "updateRevision")):
        key = hash_key(update, name)
        for rev in revisions:
            if key in (hash_key(rev.template_hash, name), hash_key(rev.name, name)):
                return rev
    if kind == "CronJob":
        return max(revisions, key=lambda r: (r.created_at is not None, r.created_at or 0, r.name))
    wanted = normalized_template(pod_template_of(kind, raw))
    matches = [r for r in revisions if normalized_template(r.pod_template) == wanted]
    if matches:
        return max(matches, key=lambda r: r.revision)
    if column:
        for rev in revisions:
            if column in (rev.template_hash, rev.name, str(rev.revision)):
                return rev
    return max(revisions, key=lambda r: r.revision)


def group_pods(
    *,
    kind: str,
    name: str,
    raw: dict,
    current_column: str,
    revisions: Sequence[Revision],
    pods: Iterable,
) -> list[RevisionGroup]:
    """Pods by the revision they were made from: the current one first, then the others newest first.

    Pods match a revision by template hash; a CronJob's Pods by the Job that owns them.
    """
    current = current_revision(kind, raw, name, current_column, revisions)
    template = pod_template_of(kind, raw)
    groups: dict[str, RevisionGroup] = {}
    by_hash: dict[str, str] = {}
    for rev in revisions:
        is_current = current is not None and rev.uid == current.uid
        diff = [] if is_current else template_diff(template, rev.pod_template)
        groups[rev.uid] = RevisionGroup(rev, is_current, diff)
        for value in (rev.template_hash, rev.name):
            if value:
                by_hash.setdefault(hash_key(value, name), rev.uid)
    unmatched = RevisionGroup(None, False, [])
    for pod in pods:
        if kind == "CronJob":
            uid = pod.owner_uid if pod.owner_uid in groups else None
        else:
            uid = by_hash.get(hash_key(pod.template_hash, name)) if pod.template_hash else None
        if uid is None and kind in ("Job", "ReplicaSet") and len(groups) == 1:
            uid = next(iter(groups))
        group = groups[uid] if uid else unmatched
        group.pods.append(pod)
    ordered = sorted(
        groups.values(),
        key=lambda g: (
            not g.current,
            -(g.revision.revision or 0),
            -(g.revision.created_at.timestamp() if g.revision.created_at else 0),
        ),
    )
    if unmatched.pods:
        ordered.append(unmatched)
    for g in ordered:
        g.total = len(g.pods)
        g.ready = sum(1 for p in g.pods if p.ready)
    # Old revisions with no Pods left are history, not news: keep the current one and those with Pods.
    return [g for g in ordered if g.current or g.pods]


# --- ownership tree ---------------------------------------------------------------------------------------------------


@dataclass
class TreeBox:
    x: int
    y: int
    w: int
    h: int
    kind: str
    label: str
    sub: str
    url: str
    css: str


@dataclass
class TreeDot:
    cx: int
    cy: int
    css: str
    title: str
    url: str


@dataclass
class Tree:
    width: int
    height: int
    boxes: list[TreeBox]
    edges: list[str]
    dots: list[TreeDot]
    notes: list[tuple[int, int, str]]
    around_edges: list[str] = field(default_factory=list)


@dataclass
class RingItem:
    """An object around the workload (a Service, ConfigMap, Secret, claim, autoscaler or budget) for the tree's
    second ring: ``css`` box-failed when it is missing or in trouble."""

    kind: str
    name: str
    sub: str
    url: str
    css: str = "box-around"


AROUND_IN_TREE = 8  # boxes of the second ring at most; the rest are counted in a "+N more"


def ownership_tree(
    *,
    root_kind: str,
    root_name: str,
    root_css: str,
    groups: Sequence[RevisionGroup],
    pod_url: Any,
    revision_url: Any,
    max_dots: int = 60,
    around: Sequence[RingItem] = (),
) -> Tree:
    """Lay out workload -> revisions -> Pods as boxes and coloured dots, with what stands around the workload as a
    second, bounded ring on its left (at most AROUND_IN_TREE boxes, then "+N more"); the template draws it as SVG."""
    dot, per_row, gap = 14, 20, 18
    box_w, box_h = 190, 44
    ring = list(around[:AROUND_IN_TREE])
    more = len(around) - len(ring)
    ring_w, ring_h, ring_gap = 190, 44, 8
    col1 = 10 + (ring_w + 50 if ring else 0)
    col2 = col1 + 240
    col3 = col2 + box_w + 40 if root_kind not in ("StatefulSet", "DaemonSet", "Job") else col2
    boxes, edges, dots, notes = [], [], [], []
    around_edges: list[str] = []
    y = 10
    rows = []
    for g in groups:
        shown = g.pods[:max_dots]
        dot_rows = max(1, -(-len(shown) // per_row))
        height = max(box_h, dot_rows * dot + 8)
        rows.append((g, shown, y, height))
        y += height + gap
    ring_total = len(ring) * (ring_h + ring_gap) - ring_gap + (24 if more else 0) + 20
    total_h = max(y - gap + 10, box_h + 20, ring_total if ring else 0)
    root_y = max(10, (total_h - box_h) // 2)
    boxes.append(TreeBox(col1, root_y, box_w, box_h, root_kind, root_name, "", "", f"box-{root_css}"))
    ring_y = max(10, (total_h - ring_total) // 2 + 10)
    for item in ring:
        boxes.append(TreeBox(10, ring_y, ring_w, ring_h, item.kind, item.name, item.sub, item.url, item.css))
        around_edges.append(_edge(10 + ring_w, ring_y + ring_h // 2, col1, root_y + box_h // 2))
        ring_y += ring_h + ring_gap
    if more:
        notes.append((14, ring_y + 12, ngettext("+%(n)d more around it", "+%(n)d more around it", more) % {"n": more}))
    for g, shown, top, height in rows:
        mid = top + height // 2
        dots_x = col3
        if col3 != col2 and g.revision is not None:
            rev = g.revision
            state = _("current") if g.current else _("outdated")
            revision = _("rev %(n)s") % {"n": rev.revision}
            sub = f"{revision} · {g.ready}/{g.total} · {state}" if rev.revision else f"{g.ready}/{g.total}"
            boxes.append(
                TreeBox(
                    col2,
                    mid - box_h // 2,
                    box_w,
                    box_h,
                    rev.kind,
                    rev.name,
                    sub,
                    revision_url(rev),
                    "box-current" if g.current else "box-outdated",
                )
            )
            edges.append(_edge(col1 + box_w, root_y + box_h // 2, col2, mid))
            edges.append(_edge(col2 + box_w, mid, col3 - 6, mid))
        else:
            edges.append(_edge(col1 + box_w, root_y + box_h // 2, dots_x - 6, mid))
        n_rows = max(1, -(-len(shown) // per_row))
        first_y = mid - (n_rows * dot) // 2 + dot // 2
        for i, pod in enumerate(shown):
            state = pod_state(pod.phase, pod.ready, pod.status_text)
            dots.append(
                TreeDot(
                    dots_x + (i % per_row) * dot + dot // 2,
                    first_y + (i // per_row) * dot,
                    f"dot-{state}",
                    f"{pod.name}: {pod.status_text or pod.phase}",
                    pod_url(pod),
                )
            )
        if not shown:
            notes.append((dots_x, mid + 4, _("no Pods")))
        elif len(g.pods) > len(shown):
            notes.append((dots_x + per_row * dot + 6, mid + 4, f"+{len(g.pods) - len(shown)}"))
    width = col3 + per_row * dot + 50
    return Tree(width, total_h, boxes, edges, dots, notes, around_edges)


def _edge(x1: int, y1: int, x2: int, y2: int) -> str:
    mx = (x1 + x2) // 2
    return f"M{x1},{y1} C{mx},{y1} {mx},{y2} {x2},{y2}"


# --- label selectors --------------------------------------------------------------------------------------------------


class SelectorError(ValueError):
    pass


_REQ = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9_.-]*)|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def parse_label_selector(text: str) -> list[tuple[str, str, list[str]]]:
    """`app=web,tier!=db,env in (a,b),!legacy` -> [(key, op, values)] with op in =, !=, in, notin, exists, !exists."""
    parts, depth, buf = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    out = []
    for part in parts:
        if not part.strip():
            continue
        m = _REQ.match(part)
        if not m or (m.group("neg") and (m.group("op") or m.group("setop"))):
            raise SelectorError(_("Not a label selector: %(p)s") % {"p": part.strip()})
        key = m.group("key")
        if m.group("neg"):
            out.append((key, "!exists", []))
        elif m.group("op"):
            out.append((key, "!=" if m.group("op") == "!=" else "=", [m.group("value")]))
        elif m.group("setop"):
            values = [v.strip() for v in m.group("values").split(",") if v.strip()]
            out.append((key, m.group("setop"), values))
        else:
            out.append((key, "exists", []))
    return out
