"""Rollouts: the panel (state, budget, deadline, cause, timeline), revision history with diffs, and the rollout
actions (scale, restart, pause, resume, undo, delete a Pod).

Reads come from the mirror; every action reads the object from the cluster first (the mirror may lag: a pause
that has not synced yet must still refuse an undo), is editor-only, POST with CSRF, and leaves a ChangeRecord.
Actions that change the Pod template (restart, undo) show the API server's dry-run diff before they apply.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from workloads import access, kinds, kube, roles
from workloads.browse import lookups
from workloads.edits import apply as edit_apply
from workloads.edits.diff import diff_objects
from workloads.edits.patch import editable
from workloads.edits.target import Target, change_required, warn_if_unrecorded
from workloads.models import ChangeRecord, Cluster, Pod, Workload
from workloads.rollouts.changes import Change, restart_change, send, undo_change
from workloads.rollouts.history import HistoryEntry, history, revision_diff

Outcome = ChangeRecord.Outcome


# --- the panel -------------------------------------------------------------------------------------------------------


def _back_to(request: HttpRequest, url: str) -> HttpResponse:
    """After an action: a redirect, or for a form posted through htmx a full client-side navigation."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _workload(cluster: str, namespace: str, kind: str, name: str) -> tuple[Cluster, Workload]:
    c = lookups.cluster_or_404(cluster)
    return c, lookups.workload_or_404(c, namespace, kind, name)


@permission_required(roles.VIEW, raise_exception=True)
def panel(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    c, w = _workload(cluster, namespace, kind, name)
    context = {"cluster": c, "namespace": namespace, "w": w}
    template_name = "workloads/rollout/panel.html"
    if request.htmx:
        template_name += "#rollout-panel"
    return render(request, template_name, context)


# --- revision history ------------------------------------------------------------------------------------------------


def _pick(entries: list[HistoryEntry], value: str | None) -> HistoryEntry | None:
    for e in entries:
        if value and str(e.revision) == value:
            return e
    return None


@permission_required(roles.VIEW, raise_exception=True)
def revisions(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    c, w = _workload(cluster, namespace, kind, name)
    if w.kind not in kinds.ROLLING_KINDS:
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
    if target.kind not in kinds.SCALABLE_KINDS:
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
        edit_apply.send_now(
            target.cluster,
            target.kind,
            target.namespace,
            target.name,
            body,
            content_type=kube.MERGE,
            subresource="scale",
        )
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
        edit_apply.send_now(target.cluster, target.kind, target.namespace, target.name, body, content_type=kube.MERGE)
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


def _preview_page(request: HttpRequest, target: Target, change: Change, *, error: str = "", status: int = 200):
    return render(
        request,
        "workloads/rollout/preview.html",
        target.context(change=change, diff=change.diff, error=error, payload=change.payload() if not error else ""),
        status=status,
    )


@change_required
@require_POST
def restart(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if target.kind not in kinds.ROLLING_KINDS:
        return _refuse(request, target, "restart", _("A %(kind)s cannot be restarted.") % {"kind": target.kind})
    return _template_action(request, target, "restart")


@change_required
@require_POST
def undo(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if target.kind not in kinds.ROLLING_KINDS:
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
        change = restart_change(target, current)
    else:
        change, problem = undo_change(target, target.row, current, request.POST.get("revision", ""))
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
        result = send(target, change, dry_run=not applying)
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
    pod = Pod.objects.live().filter(cluster=c, namespace=namespace, name=name).first()
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
        edit_apply.delete_pod(c, namespace, name)
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
