"""A workload's revision history from the mirror: each revision, who made it (the ChangeRecord that did, when
Podium did), its images, and the diff between two revisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from workloads import objects, redaction
from workloads.browse import presenters
from workloads.edits.diff import Diff, diff_objects
from workloads.models import ChangeRecord, Workload
from workloads.rollouts import analysis as rollouts

Outcome = ChangeRecord.Outcome

TEMPLATE_ACTIONS = ("apply", "apply-manifest", "undo", "restart")


# An edit applied through Podium creates its ReplicaSet within moments; this is how far apart they may be.
AUTHOR_WINDOW = timedelta(seconds=30)


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
    rows = list(w.revisions())
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
                pod_template=objects.revision_pod_template(r.template, r.raw, r.source_kind),
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
        template = objects.revision_pod_template(r.template, r.raw, r.source_kind)
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
            images=objects.images_of(template),
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
        template = objects.normalized_template(entry.pod_template)
        if not template["metadata"]["annotations"]:
            del template["metadata"]["annotations"]
        return redaction.redacted_for_yaml({"spec": {"template": template}})

    return RevisionDiff(
        a, b, presenters.template_diff(a.pod_template, b.pod_template), diff_objects(kind, wrap(a), wrap(b))
    )
