"""Rollouts: the panel (state, budget, deadline, cause, timeline), revision history with diffs, and the rollout
actions (scale, restart, pause, resume, undo, delete a Pod).

Reads come from the mirror; every action reads the object from the cluster first (the mirror may lag: a pause
that has not synced yet must still refuse an undo), is editor-only, POST with CSRF, and leaves a ChangeRecord.
Actions that change the Pod template (restart, undo) show the API server's dry-run diff before they apply.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core import signing
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from workloads import access, kube, presenters, redaction, roles, rollouts
from workloads.edits import apply as edit_apply
from workloads.edits.diff import Diff, diff_objects
from workloads.edits.patch import editable
from workloads.kube.patch import JSON_PATCH
from workloads.models import ChangeRecord, Cluster, Event, Pod, RolloutSample, TemplateRevision, Workload
from workloads.views_edit import Target, change_required, warn_if_unrecorded

Outcome = ChangeRecord.Outcome
ROLLING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
SCALABLE_KINDS = kube.SCALABLE_KINDS
PANEL_KINDS = (*ROLLING_KINDS, "Job")
EVENTS_READ = 200
SAMPLES_SHOWN = 400
TEMPLATE_ACTIONS = ("apply", "apply-manifest", "undo", "restart")
# An edit applied through Podium creates its ReplicaSet within moments; this is how far apart they may be.
AUTHOR_WINDOW = timedelta(seconds=30)
PATCH_ATTEMPTS = 5


# --- the panel -------------------------------------------------------------------------------------------------------


def _revision_rows(w: Workload) -> list[TemplateRevision]:
    return list(
        TemplateRevision.objects.filter(cluster_id=w.cluster_id, workload_uid=w.uid, deleted_at__isnull=True).order_by(
            "-revision", "-created_at"
        )
    )


def _back_to(request: HttpRequest, url: str) -> HttpResponse:
    """After an action: a redirect, or for a form posted through htmx a full client-side navigation."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def panel_context(w: Workload) -> dict[str, Any]:
    """What the rollout panel of one workload shows (through the ``rollout_panel`` tag, so the workload page, its
    live frames and the panel URL all get it from here)."""
    if w.kind not in PANEL_KINDS or w.deleted_at is not None:
        return {"rollout": None}
    now = timezone.now()
    revisions = _revision_rows(w)
    # One indexed column, never an OR of two (SQLite would scan every Pod of the cluster for it).
    own_pods = Q(owner_uid=w.uid) if w.owner_uid else Q(workload_uid=w.uid)
    pods = list(Pod.objects.filter(own_pods, cluster_id=w.cluster_id, deleted_at__isnull=True).only("uid", "raw"))
    pod_uids = [p.uid for p in pods]
    events = list(
        Event.objects.filter(cluster_id=w.cluster_id, deleted_at__isnull=True, involved_uid__in=[w.uid, *pod_uids])
        .order_by("-last_seen", "-id")
        .values_list("raw", flat=True)[:EVENTS_READ]
    )
    rollout = rollouts.analyse(
        {**w.raw, "kind": w.kind},
        revisions=[{**r.raw, "kind": r.source_kind} for r in revisions],
        pods=[p.raw for p in pods],
        events=events,
        now=now,
    )
    chart = None
    if w.kind in ROLLING_KINDS:
        samples = list(
            RolloutSample.objects.filter(cluster_id=w.cluster_id, workload_uid=w.uid).order_by("-at")[:SAMPLES_SHOWN]
        )
        labels = {r.template_hash: _("rev %(n)s") % {"n": r.revision} for r in revisions}
        chart = rollouts.timeline_chart(samples, now=now, revision_labels=labels)
    return {"rollout": rollout, "rollout_chart": chart, "rollout_revisions": len(revisions)}


def _workload(cluster: str, namespace: str, kind: str, name: str) -> tuple[Cluster, Workload]:
    c = get_object_or_404(Cluster, name=cluster)
    kind_name = presenters.KIND_SLUGS.get(kind)
    if kind_name is None:
        raise Http404(_("Unknown kind %(k)s") % {"k": kind})
    w = (
        Workload.objects.filter(cluster=c, namespace=namespace, kind=kind_name, name=name)
        .order_by("deleted_at")
        .first()
    )
    if w is None:
        raise Http404(_("No %(k)s %(ns)s/%(n)s") % {"k": kind_name, "ns": namespace, "n": name})
    w.cluster = c
    return c, w


@permission_required(roles.VIEW, raise_exception=True)
def panel(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    c, w = _workload(cluster, namespace, kind, name)
    context = {"cluster": c, "namespace": namespace, "w": w}
    template_name = "workloads/rollout/panel.html"
    if request.htmx:
        template_name += "#rollout-panel"
    return render(request, template_name, context)


# --- revision history ------------------------------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    revision: int
    name: str
    kind: str
    template_hash: str
    pod_template: dict
    created_at: datetime | None
    change_cause: str
    replicas: int
    ready_replicas: int
    current: bool = False
    record: ChangeRecord | None = None
    when: datetime | None = None
    images: list[str] = field(default_factory=list)

    @property
    def who(self) -> str:
        if self.record is not None:
            user = self.record.user.get_username() if self.record.user else _("someone")
            action = presenters.action_label(self.record.action)
            return _("%(user)s (%(action)s in Podium)") % {"user": user, "action": action}
        return self.change_cause


def _restarted_at(template: dict) -> str:
    return ((template.get("metadata") or {}).get("annotations") or {}).get(rollouts.RESTART_ANNOTATION, "")


def _author(entry: HistoryEntry, records: list[ChangeRecord]) -> ChangeRecord | None:
    """The ChangeRecord that made this revision current, when Podium made it (newest first in ``records``)."""
    for r in records:
        if r.action == "undo" and r.revision and r.revision == entry.template_hash:
            return r
    restarted = _restarted_at(entry.pod_template)
    if restarted:
        for r in records:
            if r.action == "restart" and _restarted_at(((r.patch or {}).get("spec") or {}).get("template") or {}) == (
                restarted
            ):
                return r
    if entry.created_at is None:
        return None
    candidates = [
        r
        for r in records
        if r.action in ("apply", "apply-manifest")
        and "spec.template" in (r.message + r.diff)
        and entry.created_at - AUTHOR_WINDOW <= r.created_at <= entry.created_at + timedelta(seconds=5)
    ]
    return max(candidates, key=lambda r: r.created_at) if candidates else None


def history(w: Workload) -> list[HistoryEntry]:
    """Every revision the mirror knows, newest first, with who made it and its images."""
    rows = _revision_rows(w)
    current = presenters.current_revision(
        w.kind,
        w.raw,
        w.name,
        w.current_revision,
        [
            presenters.Revision(
                uid=r.uid,
                kind=r.source_kind,
                name=r.name,
                revision=r.revision,
                template_hash=r.template_hash,
                pod_template=presenters.revision_pod_template(r.template, r.raw, r.source_kind),
            )
            for r in rows
        ],
    )
    records = list(
        ChangeRecord.objects.filter(
            cluster_id=w.cluster_id, workload_uid=w.uid, outcome=Outcome.APPLIED, action__in=TEMPLATE_ACTIONS
        )
        .select_related("user")
        .order_by("-created_at")
    )
    entries = []
    for r in rows:
        template = presenters.revision_pod_template(r.template, r.raw, r.source_kind)
        entry = HistoryEntry(
            revision=r.revision,
            name=r.name,
            kind=r.source_kind,
            template_hash=r.template_hash,
            pod_template=template,
            created_at=r.created_at,
            change_cause=r.change_cause,
            replicas=r.replicas,
            ready_replicas=r.ready_replicas,
            current=current is not None and current.uid == r.uid,
            images=rollouts.images_of(template),
        )
        entry.record = _author(entry, records)
        entry.when = max(
            filter(None, [entry.created_at, entry.record.created_at if entry.record else None]), default=None
        )
        entries.append(entry)
    return entries


@dataclass
class RevisionDiff:
    a: HistoryEntry
    b: HistoryEntry
    fields: list[str]
    diff: Diff


def revision_diff(a: HistoryEntry, b: HistoryEntry, kind: str) -> RevisionDiff:
    """What differs from revision ``a`` to ``b``: the fields by name, and each changed value (secrets hidden)."""

    def wrap(entry: HistoryEntry) -> dict:
        template = presenters.normalized_template(entry.pod_template)
        if not template["metadata"]["annotations"]:
            del template["metadata"]["annotations"]
        return redaction.redacted_for_yaml({"spec": {"template": template}})

    return RevisionDiff(
        a, b, presenters.template_diff(a.pod_template, b.pod_template), diff_objects(kind, wrap(a), wrap(b))
    )


def _pick(entries: list[HistoryEntry], value: str | None) -> HistoryEntry | None:
    for e in entries:
        if value and str(e.revision) == value:
            return e
    return None


@permission_required(roles.VIEW, raise_exception=True)
def revisions(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    c, w = _workload(cluster, namespace, kind, name)
    if w.kind not in ROLLING_KINDS:
        raise Http404(_("%(kind)s has no revision history.") % {"kind": w.kind})
    entries = history(w)
    current = next((e for e in entries if e.current), entries[0] if entries else None)
    b = _pick(entries, request.GET.get("b")) or current
    a = _pick(entries, request.GET.get("a")) or next((e for e in entries if e is not b), None)
    compared = revision_diff(a, b, w.kind) if a is not None and b is not None and a is not b else None
    return render(
        request,
        "workloads/rollout/revisions.html",
        {
            "cluster": c,
            "namespace": namespace,
            "w": w,
            "slug": kind,
            "entries": entries,
            "a": a,
            "b": b,
            "compared": compared,
            "workload_url": reverse("workloads:workload", args=[c.name, namespace, kind, name]),
        },
    )


# --- actions ---------------------------------------------------------------------------------------------------------


class ScaleForm(forms.Form):
    replicas = forms.IntegerField(min_value=0, max_value=10000)


def _refuse(request: HttpRequest, target: Target, action: str, message: str) -> HttpResponse:
    target.record(request, action, Outcome.REFUSED, message=message)
    messages.error(request, message)
    return _back_to(request, target.url("workload"))


def _failed(
    request: HttpRequest,
    target: Target,
    action: str,
    exc: kube.KubeError,
    patch: Any = None,
    attempt: ChangeRecord | None = None,
) -> HttpResponse:
    """The cluster refused or failed: on the attempt's row when one was written before sending."""
    if attempt is not None:
        edit_apply.finish(attempt, edit_apply.outcome_for(exc), patch=patch, message=exc.message)
    else:
        target.record(request, action, edit_apply.outcome_for(exc), patch=patch, message=exc.message)
    if isinstance(exc, kube.NoAnswer):
        message = _(
            "The cluster did not answer (%(action)s): %(error)s. It may have applied it: look at the workload "
            "before trying again."
        )
    elif isinstance(exc, kube.Unreachable):
        message = _("The cluster did not answer (%(action)s): %(error)s")
    elif denied := access.refusal(target.cluster, exc):
        message = _("The cluster refused to %(action)s: %(error)s") % {"action": action, "error": denied}
        messages.error(request, message)
        return _back_to(request, target.url("workload"))
    else:
        message = _("The cluster refused to %(action)s: %(error)s")
    messages.error(request, message % {"action": action, "error": exc.message})
    return _back_to(request, target.url("workload"))


def _patch(target: Target, body: Any, *, content_type: str, subresource: str = "") -> dict[str, Any]:
    with edit_apply.cluster_api(target.cluster) as api:
        return kube.patch_object(
            api,
            kube.kind_for(target.kind),
            target.namespace,
            target.name,
            body,
            content_type=content_type,
            subresource=subresource,
        )


def _paused_message(target: Target, verb: str) -> str:
    # kubectl's words: "you cannot rollback a paused deployment; resume it first with ..."
    return _(
        "You cannot %(verb)s a paused Deployment: resume it first (kubectl rollout resume deployment/%(name)s), "
        "then try again."
    ) % {"verb": verb, "name": target.name}


@change_required
@require_POST
def scale(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if target.kind not in SCALABLE_KINDS:
        return _refuse(request, target, "scale", _("A %(kind)s cannot be scaled.") % {"kind": target.kind})
    form = ScaleForm(request.POST)
    if not form.is_valid():
        return _refuse(request, target, "scale", _("Replicas: %(e)s") % {"e": " ".join(form.errors["replicas"])})
    replicas = form.cleaned_data["replicas"]
    body = {"spec": {"replicas": replicas}}
    try:
        before = edit_apply.read(target.cluster, target.kind, namespace, name)
    except kube.KubeError as exc:
        return _failed(request, target, "scale", exc, body)
    attempt = target.begin(request, "scale", patch=body)
    try:
        _patch(target, body, content_type=kube.MERGE, subresource="scale")
    except kube.KubeError as exc:
        return _failed(request, target, "scale", exc, body, attempt)
    old = (before.get("spec") or {}).get("replicas", 1)
    recorded = edit_apply.finish(
        attempt,
        Outcome.APPLIED,
        patch=body,
        diff=f"spec.replicas: {old} -> {replicas}",
        message=_("Scaled from %(old)s to %(new)s replicas.") % {"old": old, "new": replicas},
    )
    messages.success(
        request, _("Scaled %(name)s from %(old)s to %(new)s replicas.") % {"name": name, "old": old, "new": replicas}
    )
    warn_if_unrecorded(request, recorded)
    return _back_to(request, target.url("workload"))


def _pause_or_resume(request: HttpRequest, target: Target, paused: bool) -> HttpResponse:
    action = "pause" if paused else "resume"
    if target.kind != "Deployment":
        return _refuse(request, target, action, _("Only Deployments can be paused and resumed."))
    body = {"spec": {"paused": True if paused else None}}
    try:
        before = edit_apply.read(target.cluster, target.kind, target.namespace, target.name)
        was = bool((before.get("spec") or {}).get("paused"))
        if was == paused:
            message = _("The rollout is already paused.") if paused else _("The rollout is not paused.")
            return _refuse(request, target, action, message)
    except kube.KubeError as exc:
        return _failed(request, target, action, exc, body)
    attempt = target.begin(request, action, patch=body)
    try:
        _patch(target, body, content_type=kube.MERGE)
    except kube.KubeError as exc:
        return _failed(request, target, action, exc, body, attempt)
    recorded = edit_apply.finish(attempt, Outcome.APPLIED, patch=body, diff=f"spec.paused: {was} -> {paused}")
    warn_if_unrecorded(request, recorded)
    if paused:
        messages.success(request, _("Paused: template changes wait until the rollout is resumed."))
    else:
        messages.success(request, _("Resumed: the rollout continues."))
    return _back_to(request, target.url("workload"))


@change_required
@require_POST
def pause(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    return _pause_or_resume(request, Target(cluster, namespace, kind, name), True)


@change_required
@require_POST
def resume(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    return _pause_or_resume(request, Target(cluster, namespace, kind, name), False)


# --- actions with a preview: restart and undo ------------------------------------------------------------------------


@dataclass
class Change:
    """A template change as previewed: what to send, against which object, and what the dry run made of it."""

    action: str
    patch: Any
    content_type: str
    base: dict[str, Any]
    resource_version: str
    diff: Diff | None = None
    revision: str = ""  # the template hash it restores (undo)
    note: str = ""

    def payload(self) -> str:
        return edit_apply.sign(
            {
                "action": self.action,
                "patch": self.patch,
                "content_type": self.content_type,
                "base": self.base,
                "rv": self.resource_version,
                "revision": self.revision,
                "note": self.note,
            }
        )

    @classmethod
    def from_payload(cls, text: str) -> Change | None:
        try:
            data = edit_apply.unsign(text)
        except signing.BadSignature:
            return None
        return cls(
            data["action"],
            data["patch"],
            data["content_type"],
            data["base"],
            data["rv"],
            revision=data["revision"],
            note=data["note"],
        )


def _send(target: Target, change: Change, *, dry_run: bool) -> dict[str, Any]:
    """Send the change with the resourceVersion precondition. A status-only change meanwhile (every step of a
    rollout) moves the precondition along; a change to labels, annotations or spec is a Conflict."""
    if change.content_type != JSON_PATCH:
        send = edit_apply.dry_run if dry_run else edit_apply.apply
        result = send(
            target.cluster,
            target.kind,
            target.namespace,
            target.name,
            patch=change.patch,
            resource_version=change.resource_version,
            base=change.base,
            content_type=change.content_type,
        )
        return result.result if dry_run else result
    k = kube.kind_for(target.kind)
    resource_version = change.resource_version
    with edit_apply.cluster_api(target.cluster) as api:
        for attempt in range(PATCH_ATTEMPTS):
            ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}, *change.patch]
            try:
                return kube.patch_object(
                    api, k, target.namespace, target.name, ops, content_type=JSON_PATCH, dry_run=dry_run
                )
            except (kube.Invalid, kube.Conflict):
                current = kube.get_object(api, k, target.namespace, target.name)
                if diff_objects(target.kind, change.base, editable(current)):
                    raise kube.Conflict(_("The workload changed since the preview.")) from None
                if current["metadata"]["resourceVersion"] == resource_version or attempt == PATCH_ATTEMPTS - 1:
                    raise
                resource_version = current["metadata"]["resourceVersion"]
    raise AssertionError("unreachable")


def _preview_page(request: HttpRequest, target: Target, change: Change, *, error: str = "", status: int = 200):
    return render(
        request,
        "workloads/rollout/preview.html",
        target.context(change=change, diff=change.diff, error=error, payload=change.payload() if not error else ""),
        status=status,
    )


def _restart_change(target: Target, current: dict[str, Any]) -> Change:
    stamp = timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    patch = {"spec": {"template": {"metadata": {"annotations": {rollouts.RESTART_ANNOTATION: stamp}}}}}
    return Change(
        "restart", patch, kube.STRATEGIC, editable(current), current["metadata"]["resourceVersion"], note=stamp
    )


def _undo_change(target: Target, w: Workload, current: dict[str, Any], wanted: str) -> tuple[Change | None, str]:
    """The change that restores revision ``wanted`` (default: the previous one), or why there is none."""
    rows = _revision_rows(w)
    if not rows:
        return None, _("The mirror knows no revisions of this workload yet.")
    if wanted:
        row = next((r for r in rows if str(r.revision) == wanted), None)
        if row is None:
            return None, _("There is no revision %(r)s.") % {"r": wanted}
    elif len(rows) < 2:
        return None, _("There is no previous revision to go back to.")
    else:
        row = rows[1]  # like kubectl: the second-highest revision
    base = editable(current)
    rv = current["metadata"]["resourceVersion"]
    raw = {**row.raw, "kind": row.source_kind}
    template = rollouts.undo_template(raw)
    if presenters.normalized_template(template) == presenters.normalized_template(
        (current.get("spec") or {}).get("template") or {}
    ):
        return None, _("Revision %(r)s is the current template already: nothing to undo.") % {"r": row.revision}
    note = str(row.revision)
    if target.kind == "Deployment":
        # kubectl rollout undo --to-revision: the old ReplicaSet's template, sent as a JSON patch.
        ops = [{"op": "replace", "path": "/spec/template", "value": template}]
        return Change("undo", ops, JSON_PATCH, base, rv, revision=row.template_hash, note=note), ""
    # StatefulSets and DaemonSets: the ControllerRevision's data, as a strategic merge patch (it says $patch: replace).
    data = copy.deepcopy(row.raw.get("data") or {})
    if not data:
        return None, _("Revision %(r)s holds no template.") % {"r": row.revision}
    return Change("undo", data, kube.STRATEGIC, base, rv, revision=row.template_hash, note=note), ""


@change_required
@require_POST
def restart(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if target.kind not in ROLLING_KINDS:
        return _refuse(request, target, "restart", _("A %(kind)s cannot be restarted.") % {"kind": target.kind})
    return _template_action(request, target, "restart")


@change_required
@require_POST
def undo(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if target.kind not in ROLLING_KINDS:
        return _refuse(request, target, "undo", _("A %(kind)s has no revisions to undo to.") % {"kind": target.kind})
    return _template_action(request, target, "undo")


def _template_action(request: HttpRequest, target: Target, action: str) -> HttpResponse:
    """A POST without a payload: the dry-run preview. With the payload the preview carries: apply what was
    previewed, unless paused or changed meanwhile. Both are POSTs (with CSRF), so that no link from elsewhere can
    make the cluster run a dry run or write an audit row in the name of whoever follows it."""
    applying = "payload" in request.POST
    verb = _("undo") if action == "undo" else _("restart")
    try:
        current = edit_apply.read(target.cluster, target.kind, target.namespace, target.name)
    except kube.KubeError as exc:
        return _failed(request, target, action, exc)
    paused = target.kind == "Deployment" and bool((current.get("spec") or {}).get("paused"))
    if applying:
        change = Change.from_payload(request.POST.get("payload", ""))
        if change is None or change.action != action:
            return HttpResponseBadRequest(_("This preview was not made by Podium or is too old; preview again."))
    elif action == "restart":
        change = _restart_change(target, current)
    else:
        change, problem = _undo_change(target, target.row, current, request.POST.get("revision", ""))
        if change is None:
            return _preview_page(
                request,
                target,
                Change(action, {}, kube.STRATEGIC, {}, "", note=request.POST.get("revision", "")),
                error=problem,
                status=409,
            )
    if paused:
        message = _paused_message(target, verb)
        target.record(request, action, Outcome.REFUSED, patch=change.patch, message=message)
        return _preview_page(request, target, change, error=message, status=409)
    # A dry run changes nothing: its row is written with its outcome; a real change's row before it is sent.
    attempt = target.begin(request, action, patch=change.patch) if applying else None

    def outcome(result: str, **fields: Any) -> bool:
        if attempt is None:
            target.record(request, action, result, patch=change.patch, **fields)
            return True
        return edit_apply.finish(attempt, result, patch=change.patch, **fields)

    try:
        result = _send(target, change, dry_run=not applying)
    except kube.Conflict:
        message = _("The workload changed since the preview (someone else changed its spec): preview again.")
        outcome(Outcome.CONFLICT, message=message)
        return _preview_page(request, target, change, error=message, status=409)
    except kube.KubeError as exc:
        outcome(edit_apply.outcome_for(exc), message=exc.message)
        return _preview_page(request, target, change, error=exc.message, status=422)
    change.diff = diff_objects(target.kind, change.base, editable(result))
    if not applying:
        target.record(request, action, Outcome.PREVIEWED, patch=change.patch, diff=change.diff.text)
        return _preview_page(request, target, change)
    metadata = result.get("metadata") or {}
    if action == "undo":
        message = _("Rolled back to revision %(r)s; changed: %(paths)s") % {
            "r": change.note,
            "paths": ", ".join(change.diff.paths) or _("nothing"),
        }
    else:
        message = _("Restarted at %(t)s: every Pod is replaced.") % {"t": change.note}
    recorded = outcome(
        Outcome.APPLIED,
        diff=change.diff.text,
        message=message + " " + _("Now at resourceVersion %(rv)s.") % {"rv": metadata.get("resourceVersion")},
        revision=change.revision,
    )
    messages.success(request, message)
    warn_if_unrecorded(request, recorded)
    return _back_to(request, target.url("workload"))


# --- Pods ------------------------------------------------------------------------------------------------------------


@change_required
@require_http_methods(["GET", "POST"])
def pod_delete(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    """GET (or a POST without ``confirm``): what deleting the Pod does, and a button to confirm it."""
    c = get_object_or_404(Cluster, name=cluster)
    pod = Pod.objects.filter(cluster=c, namespace=namespace, name=name, deleted_at__isnull=True).first()
    if pod is None or not access.may_see(c, namespace):
        raise Http404(_("No Pod %(ns)s/%(n)s") % {"ns": namespace, "n": name})
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        return render(request, "workloads/pod_delete.html", {"cluster": c, "namespace": namespace, "pod": pod})

    attempt = edit_apply.begin(
        user=request.user,
        cluster=c,
        action="delete-pod",
        kind="Pod",
        namespace=namespace,
        name=name,
        workload_uid=pod.workload_uid,
    )

    def record(outcome: str, message: str) -> None:
        warn_if_unrecorded(request, edit_apply.finish(attempt, outcome, message=message))

    back = reverse("workloads:pod", args=[c.name, namespace, name])
    try:
        with edit_apply.cluster_api(c) as api:
            kube.delete_object(api, kube.kind_for("Pod"), namespace, name)
    except kube.NotFound:
        record(Outcome.FAILED, _("The Pod was gone already."))
        messages.info(request, _("The Pod %(n)s was gone already.") % {"n": name})
        return redirect(back)
    except kube.KubeError as exc:
        record(edit_apply.outcome_for(exc), exc.message)
        messages.error(request, _("The cluster refused to delete the Pod: %(e)s") % {"e": exc.message})
        return redirect(back)
    owner = {"n": name, "o": pod.owner_kind, "on": pod.owner_name}
    if pod.replaced_on_delete:
        record(Outcome.APPLIED, _("Deleted; its controller (%(o)s %(on)s) replaces it.") % owner)
        messages.success(request, _("Pod %(n)s is being deleted; %(o)s %(on)s makes a new one.") % owner)
    else:
        record(Outcome.APPLIED, _("Deleted; nothing replaces it."))
        messages.success(request, _("Pod %(n)s is being deleted. Nothing replaces it.") % owner)
    workload = Workload.objects.filter(cluster=c, uid=pod.workload_uid).first() if pod.workload_uid else None
    if workload is not None:
        return redirect(reverse("workloads:workload", args=[c.name, namespace, workload.kind.lower(), workload.name]))
    return redirect(back)
