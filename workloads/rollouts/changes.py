"""Template changes a rollout action previews and then applies: a restart (a new restartedAt annotation) and an
undo (an earlier revision's template). Sent through ``edits.apply``, like every change, with its precondition."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from workloads import kube, objects
from workloads.edits import apply as edit_apply
from workloads.edits.diff import Diff
from workloads.edits.patch import editable
from workloads.edits.target import Target
from workloads.models import Workload
from workloads.rollouts import analysis as rollouts


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


def send(target: Target, change: Change, *, dry_run: bool) -> dict[str, Any]:
    """Send the change with the resourceVersion precondition (``edits.apply``'s one path): the dry run's result, or
    what the cluster made of it."""
    call = edit_apply.dry_run if dry_run else edit_apply.apply
    result = call(
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


def restart_change(target: Target, current: dict[str, Any]) -> Change:
    stamp = timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    patch = {"spec": {"template": {"metadata": {"annotations": {rollouts.RESTART_ANNOTATION: stamp}}}}}
    return Change(
        "restart", patch, kube.STRATEGIC, editable(current), current["metadata"]["resourceVersion"], note=stamp
    )


def undo_change(target: Target, w: Workload, current: dict[str, Any], wanted: str) -> tuple[Change | None, str]:
    """The change that restores revision ``wanted`` (default: the previous one), or why there is none."""
    rows = list(w.revisions())
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
    if objects.normalized_template(template) == objects.normalized_template(
        (current.get("spec") or {}).get("template") or {}
    ):
        return None, _("Revision %(r)s is the current template already: nothing to undo.") % {"r": row.revision}
    note = str(row.revision)
    if target.kind == "Deployment":
        # kubectl rollout undo --to-revision: the old ReplicaSet's template, sent as a JSON patch.
        ops = [{"op": "replace", "path": "/spec/template", "value": template}]
        return Change("undo", ops, kube.JSON_PATCH, base, rv, revision=row.template_hash, note=note), ""
    # StatefulSets and DaemonSets: the ControllerRevision's data, as a strategic merge patch (it says $patch: replace).
    data = copy.deepcopy(row.raw.get("data") or {})
    if not data:
        return None, _("Revision %(r)s holds no template.") % {"r": row.revision}
    return Change("undo", data, kube.STRATEGIC, base, rv, revision=row.template_hash, note=note), ""
