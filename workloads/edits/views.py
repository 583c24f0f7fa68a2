"""Editing: the form and YAML tabs of a workload, preview, apply, conflicts, Job recreation, manifests, audit.

Every page starts from the object as the cluster has it now (the mirror may lag, and the resourceVersion the
form was read at is what makes a concurrent change a conflict rather than an overwrite).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import yaml
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core import signing
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_http_methods, require_POST

from workloads import access, kinds, kube, redaction, roles
from workloads.edits import apply as edit_apply
from workloads.edits import useryaml
from workloads.edits.diff import diff_objects
from workloads.edits.forms import TemplateEditor
from workloads.edits.patch import SERVER_METADATA, editable, merge_patch, strategic_patch
from workloads.edits.target import Target, change_required, warn_if_unrecorded
from workloads.models import ChangeRecord, Cluster, Namespace

Outcome = ChangeRecord.Outcome
SCHEMA_VERSION = "1.32"
MAX_MANIFEST_BYTES = 1024 * 1024
# Each document is a round trip or two to the API server and an audit row: 1,000 Pods took 47 s.
MAX_MANIFEST_DOCUMENTS = 100
# A manifest that holds a Secret, as far as text that YAML cannot read tells.
SECRET_DOCUMENT = re.compile(r"""kind["']?\s*:\s*["']?Secret\b""")
AUDIT_PAGE_SIZE = 50
# The action of an audit row for a request refused before any view ran (no valid CSRF token): nobody's attempt.
REFUSED_REQUEST = "refused-request"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """For ``CSRF_FAILURE_VIEW``: a POST without a valid CSRF token is recorded as a refused request. A signed-in
    person's session may come with it, but the request did not come from their Podium page (a cross-site form, a
    forged link): the row is nobody's attempt, and its message says whose session it arrived with."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        # Anonymous: no session to speak of, and recording them would let anyone fill the trail.
        return django_csrf_failure(request, reason)
    try:
        edit_apply.record(
            user=None,
            cluster=None,
            action=REFUSED_REQUEST,
            kind="",
            namespace="",
            name=request.path[:253],
            outcome=Outcome.REFUSED,
            message=_(
                "A %(method)s to %(path)s was refused: CSRF check failed (%(reason)s). It arrived with the session "
                "of %(user)s, but not from a Podium page, so it is not counted as theirs."
            )
            % {"method": request.method, "path": request.path[:253], "reason": reason, "user": user.get_username()},
        )
    except edit_apply.AuditUnavailable:
        pass  # nothing was done; the refusal does not depend on the trail
    return django_csrf_failure(request, reason)


# --- helpers ----------------------------------------------------------------------------------------------------------


def _said(target: Target, exc: kube.KubeError) -> str:
    """What the cluster answered, in the pages' words when it refused the person Podium acted as."""
    return access.refusal(target.cluster, exc) or exc.message


def _unreachable(request: HttpRequest, target: Target, exc: kube.KubeError) -> HttpResponse:
    return render(
        request,
        "workloads/edit/unreachable.html",
        target.context(error=_said(target, exc)),
        status=503 if isinstance(exc, kube.Unreachable) else 502,
    )


def _load_payload(request: HttpRequest, field: str) -> dict[str, Any] | None:
    try:
        return edit_apply.unsign(request.POST.get(field, ""))
    except signing.BadSignature:
        return None


def _modify_rows(editor: TemplateEditor, data: Any) -> bool:
    """The "add row" / "remove" buttons (they work without JavaScript: the page is rendered again)."""
    add, remove = data.get("add"), data.get("remove")
    if add and add in editor.formset_prefixes():
        total = int(data.get(f"{add}-TOTAL_FORMS") or 0)
        data[f"{add}-TOTAL_FORMS"] = str(total + 1)
        if add in ("containers", "init"):
            for sub in ("env", "ports"):
                data[f"{add}-{total}-{sub}-TOTAL_FORMS"] = "0"
                data[f"{add}-{total}-{sub}-INITIAL_FORMS"] = "0"
        return True
    if remove and remove in editor.row_prefixes():
        data[f"{remove}-DELETE"] = "on"
        return True
    return False


def _render_form(request: HttpRequest, target: Target, editor: TemplateEditor, base: str, **extra: Any) -> HttpResponse:
    template = "workloads/edit/form.html"
    if request.htmx and not extra.get("full"):
        template += "#edit-form"
    return render(request, template, target.context(editor=editor, base=base, **extra))


def _render_preview(request: HttpRequest, target: Target, preview: edit_apply.Preview, **extra: Any) -> HttpResponse:
    return render(
        request,
        "workloads/edit/preview.html",
        target.context(preview=preview, diff=preview.diff, payload=preview.payload(), **extra),
    )


def _conflict(
    request: HttpRequest,
    target: Target,
    base: dict[str, Any],
    patch: dict[str, Any],
    mine: str,
    attempt: ChangeRecord | None = None,
) -> HttpResponse:
    """What changed since the person read the object; they can re-apply their patch on top. ``attempt``: the row
    written before the refused change was sent, which gets the outcome."""
    try:
        current = edit_apply.read(target.cluster, target.kind, target.namespace, target.name)
    except kube.KubeError as exc:
        if attempt is not None:
            edit_apply.finish(attempt, Outcome.CONFLICT, patch=patch, message=str(exc.message))
        return _unreachable(request, target, exc)
    meanwhile = diff_objects(target.kind, base, editable(current))
    message = _("Changed meanwhile (now at resourceVersion %(rv)s): %(paths)s") % {
        "rv": current["metadata"].get("resourceVersion"),
        "paths": ", ".join(meanwhile.paths) or "metadata",
    }
    if attempt is not None:
        edit_apply.finish(attempt, Outcome.CONFLICT, patch=patch, diff=mine, message=message)
    else:
        target.record(request, "edit", Outcome.CONFLICT, patch=patch, diff=mine, message=message)
    payload = request.POST.get("payload") or edit_apply.sign(
        {
            "patch": patch,
            "content_type": request.POST.get("content_type", kube.STRATEGIC),
            "resource_version": "",
            "base": base,
        }
    )
    return render(
        request,
        "workloads/edit/conflict.html",
        target.context(meanwhile=meanwhile, current=current, payload=payload),
        status=409,
    )


def _preview_or_errors(
    request: HttpRequest,
    target: Target,
    *,
    base: dict[str, Any],
    patch: dict[str, Any],
    resource_version: str,
    content_type: str,
    on_errors: Callable[[kube.KubeError], HttpResponse],
) -> HttpResponse:
    try:
        preview = edit_apply.dry_run(
            target.cluster,
            target.kind,
            target.namespace,
            target.name,
            patch=patch,
            resource_version=resource_version,
            base=base,
            content_type=content_type,
        )
    except kube.Conflict:
        return _conflict(request, target, base, patch, "")
    except kube.Unreachable as exc:
        target.record(request, "edit", Outcome.FAILED, patch=patch, message=exc.message)
        return _unreachable(request, target, exc)
    except kube.KubeError as exc:
        target.record(request, "edit", edit_apply.outcome_for(exc), patch=patch, message=exc.message)
        return on_errors(exc)
    target.record(request, "edit", Outcome.PREVIEWED, patch=patch, diff=preview.diff.text)
    return _render_preview(request, target, preview)


# --- the form tab ----------------------------------------------------------------------------------------------------


@change_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if request.method == "GET":
        try:
            obj = edit_apply.read(target.cluster, target.kind, namespace, name)
        except kube.KubeError as exc:
            return _unreachable(request, target, exc)
        base = edit_apply.sign({"obj": editable(obj), "rv": obj["metadata"]["resourceVersion"]})
        return _render_form(request, target, TemplateEditor(target.kind, editable(obj)), base)

    state = _load_payload(request, "base")
    if state is None:
        return HttpResponseBadRequest(_("This form was not made by Podium or is too old; open the edit page again."))
    data = request.POST.copy()
    editor = TemplateEditor(target.kind, state["obj"], data)
    if _modify_rows(editor, data):
        return _render_form(request, target, TemplateEditor(target.kind, state["obj"], data), request.POST["base"])
    if not editor.is_valid():
        target.record(request, "edit", Outcome.INVALID, message="\n".join(editor.error_summary()))
        return _render_form(request, target, editor, request.POST["base"], full=True)
    desired = editor.desired()
    patch = strategic_patch(state["obj"], desired)
    if not patch:
        editor.non_field_errors.append(_("Nothing changed."))
        return _render_form(request, target, editor, request.POST["base"], full=True)
    if target.kind == "Job" and "template" in patch.get("spec", {}):
        diff = diff_objects(target.kind, state["obj"], desired)
        return render(
            request,
            "workloads/edit/job_recreate.html",
            target.context(diff=diff, payload=edit_apply.sign({"desired": desired, "rv": state["rv"]})),
        )

    def on_errors(exc: kube.KubeError) -> HttpResponse:
        if isinstance(exc, kube.Invalid) and exc.causes:
            for cause in exc.causes:
                editor.add_cause(cause.get("field", ""), cause.get("message", ""))
        else:
            editor.non_field_errors.append(_said(target, exc))
        return _render_form(request, target, editor, request.POST["base"], full=True)

    return _preview_or_errors(
        request,
        target,
        base=state["obj"],
        patch=patch,
        resource_version=state["rv"],
        content_type=kube.STRATEGIC,
        on_errors=on_errors,
    )


@change_required
@require_POST
def edit_apply_view(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    payload = _load_payload(request, "payload")
    if payload is None:
        return HttpResponseBadRequest(_("This preview was not made by Podium or is too old; edit again."))
    if "rebase" in request.POST:
        # Re-apply on top: the same patch against the object as it is now, previewed again.
        try:
            current = edit_apply.read(target.cluster, target.kind, namespace, name)
        except kube.KubeError as exc:
            return _unreachable(request, target, exc)

        def on_errors(exc: kube.KubeError) -> HttpResponse:
            return render(
                request,
                "workloads/edit/failed.html",
                target.context(error=exc, refusal=access.refusal(target.cluster, exc)),
                status=422,
            )

        return _preview_or_errors(
            request,
            target,
            base=editable(current),
            patch=payload["patch"],
            resource_version=current["metadata"]["resourceVersion"],
            content_type=payload["content_type"],
            on_errors=on_errors,
        )
    attempt = target.begin(request, "apply", patch=payload["patch"])
    try:
        result = edit_apply.apply(
            target.cluster,
            target.kind,
            namespace,
            name,
            patch=payload["patch"],
            resource_version=payload["resource_version"],
            base=payload["base"],
            content_type=payload["content_type"],
        )
    except kube.Conflict:
        return _conflict(request, target, payload["base"], payload["patch"], "", attempt)
    except kube.KubeError as exc:
        edit_apply.finish(attempt, edit_apply.outcome_for(exc), patch=payload["patch"], message=exc.message)
        return render(
            request,
            "workloads/edit/failed.html",
            target.context(error=exc, refusal=access.refusal(target.cluster, exc)),
            status=422,
        )
    diff = diff_objects(target.kind, payload["base"], editable(result))
    metadata = result.get("metadata") or {}
    recorded = edit_apply.finish(
        attempt,
        Outcome.APPLIED,
        patch=payload["patch"],
        diff=diff.text,
        message=_("Now at resourceVersion %(rv)s; changed: %(paths)s")
        % {"rv": metadata.get("resourceVersion"), "paths": ", ".join(diff.paths)},
        revision=str(metadata.get("generation", "")),
    )
    messages.success(
        request,
        _("Applied to %(kind)s %(name)s.") % {"kind": target.kind, "name": name}
        + (" " + _("A rollout of the new template starts now.") if diff.starts_rollout else ""),
    )
    warn_if_unrecorded(request, recorded)
    return redirect(target.url("workload"))


@change_required
@require_POST
def job_recreate(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    payload = _load_payload(request, "payload")
    if payload is None or target.kind != "Job":
        return HttpResponseBadRequest(_("This confirmation was not made by Podium or is too old; edit again."))
    if not request.POST.get("confirm"):
        messages.error(request, _("Tick the confirmation to delete and recreate the Job."))
        return redirect(target.url("edit"))
    try:
        current = edit_apply.read(target.cluster, "Job", namespace, name)
    except kube.KubeError as exc:
        return _unreachable(request, target, exc)
    if current["metadata"]["resourceVersion"] != payload["rv"]:
        return _conflict(request, target, payload["desired"], {}, "")
    # Recorded before the delete is sent, like every other change; the cluster's answer goes on the same row.
    attempt = target.begin(request, "recreate", patch=payload["desired"])
    try:
        result = edit_apply.recreate(target.cluster, "Job", namespace, name, payload["desired"])
    except kube.Conflict:
        return _conflict(request, target, payload["desired"], {}, "", attempt)
    except kube.KubeError as exc:
        edit_apply.finish(attempt, edit_apply.outcome_for(exc), patch=payload["desired"], message=exc.message)
        return render(
            request,
            "workloads/edit/failed.html",
            target.context(error=exc, refusal=access.refusal(target.cluster, exc)),
            status=422,
        )
    attempt.workload_uid = result["metadata"].get("uid", "")
    recorded = edit_apply.finish(
        attempt,
        Outcome.APPLIED,
        patch=payload["desired"],
        message=_("Deleted and created again (uid %(uid)s).") % {"uid": result["metadata"].get("uid")},
    )
    messages.success(request, _("The Job was recreated with the new template."))
    warn_if_unrecorded(request, recorded)
    return redirect(target.url("workload"))


# --- the YAML tab ----------------------------------------------------------------------------------------------------


def _yaml_text(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(editable(obj), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def _schema_errors(doc: dict[str, Any], *, unknown_kind_ok: bool = False) -> str:
    """The document checked against the Kubernetes schema; with ``unknown_kind_ok`` a kind the schema does not
    know (a custom resource) passes, and the API server's own strict field validation checks it."""
    try:
        kubernetes_validate.validate(doc, SCHEMA_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or _("the document")
        return _("%(where)s: %(msg)s (Kubernetes %(v)s schema)") % {
            "where": where,
            "msg": exc.message,
            "v": exc.version,
        }
    except kubernetes_validate.SchemaNotFoundError as exc:
        return "" if unknown_kind_ok else str(exc)
    except kubernetes_validate.InvalidSchemaError as exc:
        return str(exc)
    return ""


def _yaml_error(exc: yaml.YAMLError, *, quote: bool = True) -> str:
    """Without ``quote``, where it is without the line it quotes (which may hold a Secret's value)."""
    where = exc
    if not quote and isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f"{exc.problem or exc.context} (line {mark.line + 1}, column {mark.column + 1})"
    if isinstance(exc, useryaml.Refused):
        return _("This YAML is refused: %(e)s") % {"e": where}
    return _("This is not valid YAML: %(e)s") % {"e": where}


def _parse_one(text: str) -> tuple[dict[str, Any] | None, str]:
    try:
        docs = useryaml.load_all(text)
    except yaml.YAMLError as exc:
        return None, _yaml_error(exc)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        return None, _("Write exactly one object (a YAML mapping).")
    return docs[0], ""


@change_required
@require_http_methods(["GET", "POST"])
def yaml_edit(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    target = Target(cluster, namespace, kind, name)
    if request.method == "GET":
        try:
            obj = edit_apply.read(target.cluster, target.kind, namespace, name)
        except kube.KubeError as exc:
            return _unreachable(request, target, exc)
        base = edit_apply.sign({"obj": editable(obj), "rv": obj["metadata"]["resourceVersion"]})
        return render(request, "workloads/edit/yaml.html", target.context(text=_yaml_text(obj), base=base))

    state = _load_payload(request, "base")
    if state is None:
        return HttpResponseBadRequest(_("This form was not made by Podium or is too old; open the edit page again."))
    text = request.POST.get("text", "")

    def errors(error: str, outcome: str = Outcome.INVALID, record: bool = True) -> HttpResponse:
        if record:
            target.record(request, "edit-yaml", outcome, message=error)
        return render(
            request,
            "workloads/edit/yaml.html",
            target.context(text=text, base=request.POST["base"], error=error),
            status=422,
        )

    doc, error = _parse_one(text)
    if doc is None:
        return errors(error)
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    expected = state["obj"]
    if doc.get("kind") != target.kind or doc.get("apiVersion") != expected.get("apiVersion"):
        return errors(
            _("This page edits %(api)s %(kind)s; the YAML is %(doc_api)s %(doc_kind)s.")
            % {
                "api": expected.get("apiVersion"),
                "kind": target.kind,
                "doc_api": doc.get("apiVersion"),
                "doc_kind": doc.get("kind"),
            }
        )
    if metadata.get("name") != name or metadata.get("namespace", namespace) != namespace:
        return errors(
            _("This page edits %(ns)s/%(name)s; the YAML names %(doc_ns)s/%(doc_name)s.")
            % {
                "ns": namespace,
                "name": name,
                "doc_ns": metadata.get("namespace", namespace),
                "doc_name": metadata.get("name"),
            }
        )
    schema_error = _schema_errors(doc)
    if schema_error:
        return errors(schema_error)
    submitted = editable(doc)
    submitted["metadata"] = {k: val for k, val in submitted["metadata"].items() if k not in SERVER_METADATA}
    patch = merge_patch(state["obj"], submitted)
    if not patch:
        return errors(_("Nothing changed."), record=False)
    return _preview_or_errors(
        request,
        target,
        base=state["obj"],
        patch=patch,
        resource_version=state["rv"],
        content_type=kube.MERGE,
        on_errors=lambda exc: errors(
            "\n".join(f"{c.get('field')}: {c.get('message')}" for c in getattr(exc, "causes", [])) or exc.message,
            record=False,
        ),
    )


# --- apply a manifest ------------------------------------------------------------------------------------------------


def _manifest_items(text: str) -> tuple[list[edit_apply.ManifestItem], str]:
    """The documents of a manifest, each with what refuses it before the cluster is asked."""
    try:
        docs = useryaml.load_all(text)
    except yaml.YAMLError as exc:
        if SECRET_DOCUMENT.search(text):
            return [], _yaml_error(exc, quote=False) + " " + _(
                "It seems to hold a Secret, so Podium does not show it again: paste it again once fixed."
            )
        return [], _yaml_error(exc)
    if not docs:
        return [], _("Paste or upload at least one object.")
    if len(docs) > MAX_MANIFEST_DOCUMENTS:
        return [], _("A manifest holds at most %(max)d objects; this one has %(n)d. Apply it in parts.") % {
            "max": MAX_MANIFEST_DOCUMENTS,
            "n": len(docs),
        }
    items = []
    for index, doc in enumerate(docs, 1):
        item = edit_apply.ManifestItem(index, doc if isinstance(doc, dict) else {})
        items.append(item)
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            item.error = _("Document %(i)d is not a Kubernetes object (it needs apiVersion and kind).") % {"i": index}
            continue
        item.kind = str(doc["kind"])
        metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        item.name = str(metadata.get("name") or "")
        if not item.name:
            item.error = _("metadata.name is required.")
        elif redaction.has_hidden_values(doc):
            item.error = _(
                "This Secret holds Podium's redaction marker instead of its values (Podium never shows them "
                "again): paste the manifest with its real values."
            )
    return items, ""


def _resolve_kind(request: HttpRequest, cluster: Cluster, item: edit_apply.ManifestItem, namespaces: set[str]) -> None:
    """What the cluster serves for the document's apiVersion and kind, and whether this person may send it there;
    raises KubeError when discovery fails."""
    api_version = str(item.doc["apiVersion"])
    resource = edit_apply.served_kind(cluster, api_version, item.kind)
    if resource is None:
        item.error = _("The cluster serves no kind %(kind)s in %(api)s (as its discovery says).") % {
            "kind": item.kind,
            "api": api_version,
        }
        return
    item.resource = resource
    metadata = item.doc.get("metadata") if isinstance(item.doc.get("metadata"), dict) else {}
    if not resource.namespaced:
        if not request.user.has_perm(roles.MANAGE):
            item.error = _("%(kind)s is cluster-scoped: only Podium admins apply cluster-scoped objects.") % {
                "kind": item.kind
            }
            return
    else:
        item.namespace = str(metadata.get("namespace") or "default")
        if item.namespace not in namespaces:
            item.error = _("Podium shows no namespace %(ns)s in this cluster, so it writes nothing there.") % {
                "ns": item.namespace
            }
            return
    item.error = _schema_errors(item.doc, unknown_kind_ok=True)


def _shown_text(text: str, items: list[edit_apply.ManifestItem]) -> str:
    """The manifest as the page shows it again: a Secret's values hidden (the page keeps the sealed original), and
    nothing of one that could not be read and seems to hold a Secret."""
    if not items and SECRET_DOCUMENT.search(text):
        return ""
    if not any(redaction.has_secret_values(i.doc) for i in items):
        return text
    docs = [redaction.redact(i.doc) if i.kind == "Secret" else i.doc for i in items]
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


@change_required
@require_http_methods(["GET", "POST"])
def apply_manifest(request: HttpRequest, cluster: str) -> HttpResponse:
    c = get_object_or_404(Cluster, name=cluster)
    context: dict[str, Any] = {"cluster": c, "text": ""}
    if request.method == "GET":
        return render(request, "workloads/edit/apply_manifest.html", context)

    applying = "apply" in request.POST
    if applying:
        text = edit_apply.unseal(request.POST.get("payload", ""))
        if text is None:
            return HttpResponseBadRequest(_("This preview was not made by Podium or is too old; preview again."))
    else:
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > MAX_MANIFEST_BYTES:
                context["error"] = _("The file is larger than 1 MiB.")
                return render(request, "workloads/edit/apply_manifest.html", context, status=422)
            text = upload.read().decode("utf-8", errors="replace")
        else:
            text = request.POST.get("text", "")
    items, error = _manifest_items(text)
    context["text"] = _shown_text(text, items)
    # The namespaces an editor may write to: those the pages show (an edit page needs the mirror's row too), and
    # those the manifest creates (a Namespace is cluster-scoped: only an admin's manifest can create one).
    namespaces = set(Namespace.objects.live().filter(cluster=c).values_list("name", flat=True))
    namespaces |= {i.name for i in items if i.kind == "Namespace" and i.doc.get("apiVersion") == "v1"}
    unanswered = False
    for item in items:
        if item.error:
            continue
        if unanswered:
            item.error = _("Not checked: the cluster did not answer.")
            continue
        try:
            _resolve_kind(request, c, item, namespaces)
        except kube.KubeError as exc:
            item.error = _cluster_error(c, exc)
            unanswered = isinstance(exc, kube.Unreachable)
    items = edit_apply.in_apply_order(items)

    def record(item: edit_apply.ManifestItem, outcome: str, message: str = "") -> None:
        edit_apply.record(
            user=request.user,
            cluster=c,
            action="apply-manifest" if applying else "preview-manifest",
            kind=item.kind,
            namespace=item.namespace,
            name=item.name or f"document {item.index}",
            workload_uid=(item.result.get("metadata") or {}).get("uid", ""),
            patch=item.doc,
            diff=item.diff.text if item.diff else "",
            outcome=outcome,
            message=message,
            revision=str((item.result.get("metadata") or {}).get("generation", "")),
        )

    if error or any(i.error for i in items):
        context.update(error=error, items=items)
        edit_apply.record(
            user=request.user,
            cluster=c,
            action="apply-manifest",
            kind="",
            namespace="",
            name=_("manifest"),
            outcome=Outcome.INVALID,
            message=error or "\n".join(f"{i.index}: {i.error}" for i in items if i.error),
        )
        return render(request, "workloads/edit/apply_manifest.html", context, status=422)
    # All or nothing: every document is dry-run first, when applying too (the cluster may have changed since the
    # preview), and nothing is sent for real unless the cluster would take all of them. A document in a namespace
    # the manifest creates cannot be dry-run before that namespace exists: its preview is the document itself, and
    # it is dry-run, all such together, once the namespace is created (see ``_apply_deferred``).
    created: set[str] = set()
    for index, item in enumerate(items):
        if item.namespace in created:
            item.deferred = True
            edit_apply.preview_deferred(item)
            continue
        try:
            edit_apply.apply_manifest_item(c, item, dry_run=True)
        except kube.KubeError as exc:
            item.error = _cluster_error(c, exc)
            record(item, edit_apply.outcome_for(exc), item.error)
            if isinstance(exc, kube.Unreachable):
                # One deadline for the person, not one per document: the rest are not sent.
                for rest in items[index + 1 :]:
                    rest.error = _("Not checked: the cluster did not answer.")
                break
        if item.kind == "Namespace" and item.action == "create":
            created.add(item.name)
    failed = any(i.error for i in items)
    if failed or not applying:
        if not failed:
            for item in items:
                record(item, Outcome.PREVIEWED)
        else:
            context["error"] = _("The cluster refuses %(docs)s: nothing was applied.") % {
                "docs": ", ".join(_("document %(i)d") % {"i": i.index} for i in items if i.error)
            }
        context.update(items=items, applied=False, failed=failed, payload="" if failed else edit_apply.seal(text))
        return render(request, "workloads/edit/apply_manifest.html", context, status=422 if failed else 200)
    for item in items:
        # Namespaces come first; before anything else is sent, what goes in the new ones is dry-run.
        if item.kind != "Namespace" and any(i.deferred for i in items) and not _dry_run_deferred(c, items, record):
            docs = ", ".join(_("document %(i)d") % {"i": i.index} for i in items if i.error)
            if _undo_namespaces(request, c, [i for i in items if i.applied]):
                context["error"] = _(
                    "The cluster refuses %(docs)s in the namespace this manifest creates: nothing was applied "
                    "(the namespace Podium had just created for it was deleted again)."
                ) % {"docs": docs}
            else:
                context["error"] = _(
                    "The cluster refuses %(docs)s in the namespace this manifest created. Applied: %(done)s. "
                    "Not applied: %(rest)s."
                ) % {
                    "docs": docs,
                    "done": ", ".join(i.label for i in items if i.applied) or _("nothing"),
                    "rest": ", ".join(i.label for i in items if not i.applied),
                }
            break
        attempt = edit_apply.begin(
            user=request.user,
            cluster=c,
            action="apply-manifest",
            kind=item.kind,
            namespace=item.namespace,
            name=item.name,
            patch=item.doc,
        )
        try:
            edit_apply.apply_manifest_item(c, item, dry_run=False)
        except kube.KubeError as exc:
            # Refused midway though its dry run passed (someone else's change in between): say exactly what is in.
            item.error = _cluster_error(c, exc)
            edit_apply.finish(attempt, edit_apply.outcome_for(exc), patch=item.doc, message=item.error)
            done = [i for i in items if i.applied]
            context["error"] = _(
                "The cluster refused document %(i)d after its dry run passed. Applied: %(done)s. Not applied: %(rest)s."
            ) % {
                "i": item.index,
                "done": ", ".join(i.label for i in done) or _("nothing"),
                "rest": ", ".join(i.label for i in items if not i.applied),
            }
            break
        item.applied = True
        attempt.workload_uid = (item.result.get("metadata") or {}).get("uid", "")
        warn_if_unrecorded(
            request,
            edit_apply.finish(
                attempt,
                Outcome.APPLIED,
                patch=item.doc,
                diff=item.diff.text if item.diff else "",
                revision=str((item.result.get("metadata") or {}).get("generation", "")),
            ),
        )
    failed = any(i.error for i in items)
    context.update(items=items, applied=True, failed=failed)
    return render(request, "workloads/edit/apply_manifest.html", context, status=422 if failed else 200)


def _dry_run_deferred(cluster: Cluster, items: list[edit_apply.ManifestItem], record: Callable[..., None]) -> bool:
    """Dry-run, together, the documents whose namespace the manifest has just created (once: they are no longer
    deferred after); False when the cluster refuses any of them, and then none of them is sent."""
    pending = [i for i in items if i.deferred]
    for item in pending:
        item.deferred = False
        try:
            edit_apply.apply_manifest_item(cluster, item, dry_run=True)
        except kube.KubeError as exc:
            item.error = _cluster_error(cluster, exc)
            record(item, edit_apply.outcome_for(exc), item.error)
    return not any(i.error for i in pending)


def _undo_namespaces(request: HttpRequest, cluster: Cluster, created: list[edit_apply.ManifestItem]) -> bool:
    """Delete again the Namespaces this apply has just created (nothing else was sent: they are empty), each
    recorded; False when the cluster refuses one, which then stays applied and says why."""
    undone = True
    for item in created:
        attempt = edit_apply.begin(
            user=request.user, cluster=cluster, action="undo-manifest", kind=item.kind, namespace="", name=item.name
        )
        try:
            edit_apply.delete_manifest_item(cluster, item)
        except kube.KubeError as exc:
            item.error = _("Created, and Podium could not delete it again: %(e)s") % {"e": _cluster_error(cluster, exc)}
            edit_apply.finish(attempt, edit_apply.outcome_for(exc), message=item.error)
            undone = False
            continue
        item.applied = False
        edit_apply.finish(
            attempt,
            Outcome.APPLIED,
            message=_("Deleted again: the cluster refused what the manifest puts in it, so nothing of it stays."),
        )
    return undone


def _cluster_error(cluster: Cluster, exc: kube.KubeError) -> str:
    causes = getattr(exc, "causes", [])
    return (
        access.refusal(cluster, exc)
        or "\n".join(f"{x.get('field')}: {x.get('message')}" for x in causes)
        or exc.message
    )


# --- audit -----------------------------------------------------------------------------------------------------------


def _workload_url(record: ChangeRecord) -> str:
    """The page of what a row names, if there can be one: a row keeps whatever a person typed (a name with a
    ``/`` in a manifest that was refused), and no stored value may break the page."""
    slug = record.kind.lower()
    if not (record.cluster and slug in kinds.KIND_SLUGS and record.namespace):
        return ""
    try:
        return reverse("workloads:workload", args=[record.cluster.name, record.namespace, slug, record.name])
    except NoReverseMatch:
        return ""


@permission_required(roles.VIEW, raise_exception=True)
def audit(request: HttpRequest) -> HttpResponse:
    records = ChangeRecord.objects.select_related("cluster", "user")
    cluster, user, outcome, q = (request.GET.get(k, "").strip() for k in ("cluster", "user", "outcome", "q"))
    if cluster:
        records = records.filter(cluster__name=cluster)
    if user:
        records = records.filter(user__username=user)
    if outcome:
        records = records.filter(outcome=outcome)
    if q:
        records = records.filter(
            Q(name__icontains=q) | Q(namespace__icontains=q) | Q(kind__icontains=q) | Q(message__icontains=q)
        )
    page = Paginator(records, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for r in page:
        r.workload_url = _workload_url(r)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workloads/edit/audit.html",
        {
            "page": page,
            "clusters": Cluster.objects.values_list("name", flat=True),
            "users": User.objects.filter(changerecord__isnull=False).distinct().values_list("username", flat=True),
            "outcomes": Outcome.choices,
            "filters": {"cluster": cluster, "user": user, "outcome": outcome, "q": q},
            "query": query.urlencode(),
        },
    )
