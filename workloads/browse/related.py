"""Reverse look-ups: a ConfigMap's or a Secret's page (metadata, key names, and which workloads read it and how), a
Service's page (ports, selector, the workloads it selects and its endpoints, live), and "restart the workloads that
use it" from a ConfigMap or Secret page.

Reads come from the mirror. The restart is the rollout restart of each workload (``views_rollout``): previewed by a
dry run as the signed-in person, applied with the resourceVersion it was previewed at, one ChangeRecord per workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workloads import access, kinds, kube, redaction, related, roles
from workloads.browse import lookups
from workloads.edits import apply as edit_apply
from workloads.edits.diff import diff_objects
from workloads.edits.patch import editable
from workloads.edits.target import Target, change_required, warn_if_unrecorded
from workloads.live import publish as live
from workloads.live import subscriptions
from workloads.models import ChangeRecord, Cluster, RelatedObject, Workload
from workloads.rollouts.changes import Change, restart_change, send

Outcome = ChangeRecord.Outcome
# The URL word of each kind that has a page here.
SLUGS = {"configmap": "ConfigMap", "secret": "Secret", "service": "Service"}


def _related(c: Cluster, namespace: str, kind: str, name: str) -> RelatedObject:
    """The live object (or the last one deleted, kept for history); 404 when the mirror has none of that name, or
    the namespace or kind is one the signed-in person may not see."""
    lookups.check_visible(c, namespace)
    lookups.check_kind(c, namespace, kind)
    obj = lookups.live_first(RelatedObject.objects.filter(cluster=c, namespace=namespace, kind=kind, name=name))
    obj.cluster = c
    return obj


def related_url(obj: RelatedObject, cluster_name: str) -> str:
    slug = {v: k for k, v in SLUGS.items()}[obj.kind]
    return reverse(f"workloads:{slug}", args=[cluster_name, obj.namespace, obj.name])


# --- ConfigMaps and Secrets -------------------------------------------------------------------------------------


@dataclass
class Reader:
    """A workload whose Pod template reads the ConfigMap or Secret: where, and what a restart would do to it."""

    workload: Workload
    url: str
    refs: list[related.Reference]
    skip: str  # why "restart the workloads that use it" leaves it alone; "" when it restarts it

    @property
    def restartable(self) -> bool:
        return not self.skip


def skip_reason(w: Workload) -> str:
    if w.kind in kinds.ROLLING_KINDS:
        return ""
    if w.kind == "Job":
        return _("A Job cannot be restarted: its Pods run to completion. Recreate it to run it again.")
    if w.kind == "CronJob":
        return _("A CronJob cannot be restarted: the Jobs it starts next read the new values.")
    return _("A %(kind)s without an owner cannot be restarted: delete its Pods to replace them.") % {"kind": w.kind}


def readers_of(obj: RelatedObject) -> list[Reader]:
    readers = []
    for w, refs in related.users_of(obj):
        w.cluster = obj.cluster  # the URLs name it
        readers.append(Reader(w, lookups.workload_url(w), refs, skip_reason(w)))
    return readers


def config_context(c: Cluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    """A ConfigMap's or Secret's page; the live consumer calls it too, to re-render the same partials."""
    obj = _related(c, namespace, kind, name)
    meta = obj.raw.get("metadata") or {}
    readers = readers_of(obj)
    return {
        "cluster": c,
        "namespace": namespace,
        "obj": obj,
        "annotations": redaction.redact_annotations(meta.get("annotations") or {}),
        "readers": readers,
        "restartable": [r for r in readers if r.restartable],
        "restart_url": reverse(f"workloads:{kind.lower()}_restart", args=[c.name, namespace, name]),
        "live_groups": [live.cluster_group(c.id), live.namespace_group(c.id, namespace)],
    }


def _config_page(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    context = config_context(get_object_or_404(Cluster, name=cluster), namespace, kind, name)
    context["live_url"] = subscriptions.page_url(context["live_groups"], request.get_full_path())
    return render(request, "workloads/related/config_detail.html", context)


@permission_required(roles.VIEW, raise_exception=True)
def configmap_detail(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    return _config_page(request, cluster, namespace, "ConfigMap", name)


@permission_required(roles.VIEW, raise_exception=True)
def secret_detail(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    return _config_page(request, cluster, namespace, "Secret", name)


# --- restart the workloads that use it --------------------------------------------------------------------------


@dataclass
class PlannedRestart:
    """One workload of a restart preview: the change its dry run checked, or why it is left alone."""

    reader: Reader
    change: Change | None = None
    problem: str = ""  # the cluster refused the dry run, or the workload cannot be restarted now
    diff_paths: list[str] | None = None

    @property
    def target_args(self) -> list[str]:
        w = self.reader.workload
        return [w.cluster.name, w.namespace, w.kind.lower(), w.name]


def _target(w: Workload) -> Target:
    return Target(w.cluster.name, w.namespace, w.kind.lower(), w.name)


def _plan(request: HttpRequest, reader: Reader) -> PlannedRestart:
    """Dry-run the restart of one workload as the signed-in person (recorded as a preview, as the workload page's
    restart preview is)."""
    planned = PlannedRestart(reader)
    if reader.skip:
        return planned
    target = _target(reader.workload)
    try:
        current = edit_apply.read(target.cluster, target.kind, target.namespace, target.name)
    except kube.KubeError as exc:
        planned.problem = access.refusal(target.cluster, exc) or exc.message
        return planned
    change = restart_change(target, current)
    if target.kind == "Deployment" and (current.get("spec") or {}).get("paused"):
        planned.problem = _("The Deployment is paused: resume it first, or its Pods are not replaced.")
        target.record(request, "restart", Outcome.REFUSED, patch=change.patch, message=planned.problem)
        return planned
    try:
        result = send(target, change, dry_run=True)
    except kube.KubeError as exc:
        planned.problem = access.refusal(target.cluster, exc) or exc.message
        target.record(request, "restart", edit_apply.outcome_for(exc), patch=change.patch, message=exc.message)
        return planned
    diff = diff_objects(target.kind, change.base, editable(result))
    target.record(request, "restart", Outcome.PREVIEWED, patch=change.patch, diff=diff.text)
    planned.change, planned.diff_paths = change, diff.paths
    return planned


def _payload(obj: RelatedObject, plans: list[PlannedRestart]) -> str:
    return edit_apply.sign(
        {
            "object": [obj.kind, obj.namespace, obj.name],
            "restarts": [
                {"kind": p.reader.workload.kind, "name": p.reader.workload.name, "change": p.change.payload()}
                for p in plans
                if p.change is not None
            ],
        }
    )


def _restart_one(request: HttpRequest, w: Workload, change: Change, source: RelatedObject) -> tuple[bool, str]:
    """Apply one previewed restart; (applied, what to tell the person). Its row is written before it is sent."""
    target = _target(w)
    label = f"{w.kind} {w.name}"
    try:
        current = edit_apply.read(target.cluster, target.kind, target.namespace, target.name)
    except kube.KubeError as exc:
        target.record(request, "restart", edit_apply.outcome_for(exc), patch=change.patch, message=exc.message)
        return False, _("%(w)s: %(error)s") % {"w": label, "error": access.refusal(target.cluster, exc) or exc.message}
    if target.kind == "Deployment" and (current.get("spec") or {}).get("paused"):
        message = _("The Deployment is paused: resume it first, or its Pods are not replaced.")
        target.record(request, "restart", Outcome.REFUSED, patch=change.patch, message=message)
        return False, _("%(w)s: %(error)s") % {"w": label, "error": message}
    attempt = target.begin(request, "restart", patch=change.patch)
    try:
        result = send(target, change, dry_run=False)
    except kube.Conflict:
        message = _("The workload changed since the preview (someone else changed its spec): preview again.")
        edit_apply.finish(attempt, Outcome.CONFLICT, patch=change.patch, message=message)
        return False, _("%(w)s: %(error)s") % {"w": label, "error": message}
    except kube.KubeError as exc:
        edit_apply.finish(attempt, edit_apply.outcome_for(exc), patch=change.patch, message=exc.message)
        said = access.refusal(target.cluster, exc) or exc.message
        return False, _("%(w)s: the cluster refused to restart it: %(error)s") % {"w": label, "error": said}
    diff = diff_objects(target.kind, change.base, editable(result))
    message = _("Restarted at %(t)s to read %(k)s %(n)s again: every Pod is replaced.") % {
        "t": change.note,
        "k": source.kind,
        "n": source.name,
    }
    rv = (result.get("metadata") or {}).get("resourceVersion")
    recorded = edit_apply.finish(
        attempt,
        Outcome.APPLIED,
        patch=change.patch,
        diff=diff.text,
        message=message + " " + _("Now at resourceVersion %(rv)s.") % {"rv": rv},
    )
    warn_if_unrecorded(request, recorded)
    return True, _("%(w)s: restarted, its Pods are being replaced.") % {"w": label}


def _restart_users(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    """A POST without a payload: the preview (a dry run per workload). With the preview's payload: restart each
    workload it checked, and say per workload what the cluster answered."""
    c = get_object_or_404(Cluster, name=cluster)
    obj = _related(c, namespace, kind, name)
    page = related_url(obj, c.name)
    if obj.deleted_at is not None:
        messages.error(request, _("It was deleted from the cluster."))
        return redirect(page)
    readers = readers_of(obj)
    if "payload" not in request.POST:
        plans = [_plan(request, r) for r in readers]
        context = {
            "cluster": c,
            "namespace": namespace,
            "obj": obj,
            "page_url": page,
            "plans": plans,
            "restarting": sum(p.change is not None for p in plans),
            "payload": _payload(obj, plans) if any(p.change for p in plans) else "",
        }
        return render(request, "workloads/related/restart_preview.html", context)
    try:
        data = edit_apply.unsign(request.POST["payload"])
    except signing.BadSignature:
        return HttpResponseBadRequest(_("This preview was not made by Podium or is too old; preview again."))
    if data.get("object") != [obj.kind, obj.namespace, obj.name]:
        return HttpResponseBadRequest(_("This preview was made for another object; preview again."))
    by_name = {(r.workload.kind, r.workload.name): r for r in readers}
    for item in data["restarts"]:
        change = Change.from_payload(item["change"])
        reader = by_name.get((item["kind"], item["name"]))
        label = f"{item['kind']} {item['name']}"
        if reader is None or change is None or change.action != "restart":
            messages.error(request, _("%(w)s: it no longer reads %(k)s %(n)s; not restarted.") % {
                "w": label, "k": obj.kind, "n": obj.name,
            })  # fmt: skip
            continue
        applied, said = _restart_one(request, reader.workload, change, obj)
        (messages.success if applied else messages.error)(request, said)
    return redirect(page)


@change_required
@require_POST
def configmap_restart(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    return _restart_users(request, cluster, namespace, "ConfigMap", name)


@change_required
@require_POST
def secret_restart(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    return _restart_users(request, cluster, namespace, "Secret", name)


# --- Services ---------------------------------------------------------------------------------------------------


def service_context(c: Cluster, namespace: str, name: str) -> dict[str, Any]:
    """A Service's page; the live consumer calls it too, to re-render the same partials."""
    service = _related(c, namespace, "Service", name)
    spec = service.raw.get("spec") or {}
    selected = related.selected_by(service)
    for w in selected:
        w.cluster = c
        w.url = lookups.workload_url(w)
    endpoints = related.endpoints_of(service)
    meta = service.raw.get("metadata") or {}
    return {
        "cluster": c,
        "namespace": namespace,
        "service": service,
        "spec": spec,
        "ports": related.service_ports(service),
        "annotations": redaction.redact_annotations(meta.get("annotations") or {}),
        "selected": selected,
        "endpoints": endpoints,
        "ready_count": sum(e.ready for e in endpoints),
        "not_ready_count": sum(not e.ready for e in endpoints),
        "live_groups": [live.cluster_group(c.id), live.namespace_group(c.id, namespace)],
    }


@permission_required(roles.VIEW, raise_exception=True)
def service_detail(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    context = service_context(get_object_or_404(Cluster, name=cluster), namespace, name)
    context["live_url"] = subscriptions.page_url(context["live_groups"], request.get_full_path())
    return render(request, "workloads/related/service_detail.html", context)
