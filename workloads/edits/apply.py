"""Talking to the cluster for an edit: read, dry run, apply with the resourceVersion precondition, recreate a Job,
apply a manifest, and record every attempt as a ChangeRecord."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.core import signing
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from workloads import identity, kube, redaction
from workloads.clusters import connect
from workloads.edits.diff import Diff, diff_objects
from workloads.edits.patch import editable, with_precondition
from workloads.models import ChangeRecord, Cluster

logger = logging.getLogger(__name__)
PAYLOAD_SALT = "podium.edits"
PAYLOAD_MAX_AGE = 24 * 3600
JOB_SERVER_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
RECREATE_ATTEMPTS = 40
STATUS_ONLY_RETRIES = 5
# How long what a cluster's discovery said it serves stands (a CRD installed a moment ago shows up after this).
DISCOVERY_SECONDS = 60
# The order Apply manifest sends kinds in, so that a manifest creates what its later objects need first: the
# Namespace, then what workloads read or are reached by, then the workloads. Kinds not named go after these.
APPLY_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
)


def sign(data: dict[str, Any]) -> str:
    """Carry what the person saw (the object as read, the previewed patch) through the page, tamper-proof."""
    return signing.dumps(data, salt=PAYLOAD_SALT, compress=True)


def unsign(text: str) -> dict[str, Any]:
    """Raises signing.BadSignature (or SignatureExpired) when the page was not made by Podium."""
    return signing.loads(text, salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE)


def _manifest_key() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(salted_hmac("podium.manifest", "fernet", algorithm="sha256").digest()))


def seal(text: str) -> str:
    """A manifest carried from its preview to its apply through the page, encrypted (not only signed): it may hold
    a Secret's values, which the page must not show in any form."""
    return _manifest_key().encrypt(text.encode()).decode()


def unseal(token: str) -> str | None:
    """None when the page was not made by Podium or is too old."""
    try:
        return _manifest_key().decrypt(token.encode(), ttl=PAYLOAD_MAX_AGE).decode()
    except (InvalidToken, ValueError):
        return None


def served_kind(cluster: Cluster, api_version: str, kind: str) -> kube.Kind | None:
    """The kind as the cluster's discovery serves it (its resource and whether it is namespaced), or None.
    Remembered per cluster for DISCOVERY_SECONDS."""
    key = f"podium:discovery:{cluster.pk}:{api_version}"
    kinds = cache.get(key)
    if kinds is None:
        with connect(cluster) as api:
            kinds = kube.served_kinds(api, api_version=api_version)
        cache.set(key, kinds, DISCOVERY_SECONDS)
    served = kinds.get(kind)
    known = kube.KINDS.get(kind)
    if served and known and (known.group, known.version, known.plural) == (served.group, served.version, served.plural):
        return known  # with what Podium knows of it (a Secret is read as metadata alone)
    return served


def read(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, Any]:
    with connect(cluster) as api:
        return kube.get_object(api, kube.kind_for(kind), namespace, name)


@dataclass
class Preview:
    kind: str
    namespace: str
    name: str
    patch: dict[str, Any]
    content_type: str
    resource_version: str
    base: dict[str, Any]
    result: dict[str, Any]
    diff: Diff = field(init=False)

    def __post_init__(self) -> None:
        self.diff = diff_objects(self.kind, self.base, self.result)

    def payload(self) -> str:
        return sign(
            {
                "patch": self.patch,
                "content_type": self.content_type,
                "resource_version": self.resource_version,
                "base": self.base,
            }
        )


def dry_run(
    cluster: Cluster,
    kind: str,
    namespace: str,
    name: str,
    *,
    patch: dict[str, Any],
    resource_version: str,
    base: dict[str, Any],
    content_type: str = kube.STRATEGIC,
) -> Preview:
    """Ask the API server what the patch would make (``dryRun=All``); raises Conflict/Invalid/... as it answers."""
    with connect(cluster) as api:
        result, resource_version = _patch_unless_changed(
            api, kind, namespace, name, patch, resource_version, base, content_type, dry_run=True
        )
    return Preview(kind, namespace, name, patch, content_type, resource_version, editable(base), editable(result))


def _patch_unless_changed(
    api: Any,
    kind: str,
    namespace: str,
    name: str,
    patch: Any,
    resource_version: str,
    base: dict[str, Any],
    content_type: str,
    *,
    dry_run: bool,
) -> tuple[dict[str, Any], str]:
    """Patch with the precondition: the one path every previewed change takes (an edit, a YAML edit, a restart, an
    undo). The resourceVersion also moves when only the status changes (every step of a rollout): then what the
    person saw is still what is there, so the precondition moves with it. Any change to labels, annotations or spec
    stays a Conflict."""
    k = kube.kind_for(kind)
    for attempt in range(STATUS_ONLY_RETRIES + 1):
        body = with_precondition(patch, resource_version, content_type)
        try:
            result = kube.patch_object(api, k, namespace, name, body, content_type=content_type, dry_run=dry_run)
            return result, resource_version
        except (kube.Conflict, kube.Invalid) as exc:
            # A JSON patch's failed ``test`` of the resourceVersion is a 422; any other 422 is the server's verdict.
            if isinstance(exc, kube.Invalid) and content_type != kube.JSON_PATCH:
                raise
            if attempt == STATUS_ONLY_RETRIES:
                raise
            current = kube.get_object(api, k, namespace, name)
            if diff_objects(kind, base, editable(current)):
                if content_type == kube.JSON_PATCH:
                    raise kube.Conflict(_("The workload changed since the preview.")) from None
                raise
            if current["metadata"]["resourceVersion"] == resource_version:
                raise  # nothing moved: the server refused the patch itself
            resource_version = current["metadata"]["resourceVersion"]
    raise AssertionError("unreachable")


def send_now(
    cluster: Cluster, kind: str, namespace: str, name: str, body: Any, *, content_type: str, subresource: str = ""
) -> dict[str, Any]:
    """A patch sent as it is, with no precondition: scale and pause say what they want, whatever the object is now."""
    with connect(cluster) as api:
        return kube.patch_object(
            api, kube.kind_for(kind), namespace, name, body, content_type=content_type, subresource=subresource
        )


def delete_pod(cluster: Cluster, namespace: str, name: str) -> None:
    """Delete a Pod, so that its controller makes a new one."""
    with connect(cluster) as api:
        kube.delete_object(api, kube.kind_for("Pod"), namespace, name)


def apply(
    cluster: Cluster,
    kind: str,
    namespace: str,
    name: str,
    *,
    patch: dict[str, Any],
    resource_version: str,
    base: dict[str, Any],
    content_type: str = kube.STRATEGIC,
) -> dict[str, Any]:
    """The same patch for real, refused by the server (409) if the object changed since it was read."""
    with connect(cluster) as api:
        result, _rv = _patch_unless_changed(
            api, kind, namespace, name, patch, resource_version, base, content_type, dry_run=False
        )
        return result


def fresh_object(obj: dict[str, Any]) -> dict[str, Any]:
    """What to create again: no server fields, and for a Job no generated selector or controller labels."""
    result = editable(obj)
    metadata = result["metadata"]
    result["metadata"] = {
        k: v for k, v in metadata.items() if k in ("name", "namespace", "labels", "annotations") and v
    }
    if obj.get("kind") == "Job":
        spec = result.get("spec") or {}
        spec.pop("selector", None)
        spec.pop("manualSelector", None)
        template_meta = (spec.get("template") or {}).get("metadata") or {}
        labels = template_meta.get("labels") or {}
        for key in JOB_SERVER_LABELS:
            labels.pop(key, None)
        for labels_ in (labels, result["metadata"].get("labels") or {}):
            if labels_.get("batch.kubernetes.io/job-name") == metadata.get("name"):
                labels_.pop("batch.kubernetes.io/job-name", None)
            if labels_.get("job-name") == metadata.get("name"):
                labels_.pop("job-name", None)
    return result


def recreate(cluster: Cluster, kind: str, namespace: str, name: str, desired: dict[str, Any]) -> dict[str, Any]:
    """Delete (Background propagation: its Pods go too) and create again from ``desired``."""
    body = fresh_object(desired)
    k = kube.kind_for(kind)
    with connect(cluster) as api:
        # Check the new object first (under another name, so "already exists" does not hide a real error):
        # a refused create must not leave the Job deleted.
        probe = {**body, "metadata": {**body["metadata"], "name": f"{name[:50]}-podium-check"}}
        kube.create_object(api, k, namespace, probe, dry_run=True)
        kube.delete_object(api, k, namespace, name, propagation="Background")
        for _attempt in range(RECREATE_ATTEMPTS):
            try:
                return kube.create_object(api, k, namespace, body)
            except kube.Conflict:  # AlreadyExists until the deletion is done
                time.sleep(0.25)
        return kube.create_object(api, k, namespace, body)


@dataclass
class ManifestItem:
    """One document of a manifest, and what applying it does."""

    index: int
    doc: dict[str, Any]
    kind: str = ""
    resource: kube.Kind | None = None  # as the cluster's discovery serves it
    namespace: str = ""
    name: str = ""
    action: str = ""  # "create" or "update"
    diff: Diff | None = None
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    applied: bool = False  # sent for real and accepted (a dry run leaves it False)
    # Its namespace is one the manifest creates: the server cannot dry-run it before that namespace exists.
    deferred: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def order(self) -> tuple[int, int]:
        rank = APPLY_ORDER.index(self.kind) if self.kind in APPLY_ORDER else len(APPLY_ORDER)
        return rank, self.index


def in_apply_order(items: list[ManifestItem]) -> list[ManifestItem]:
    return sorted(items, key=lambda item: item.order)


def preview_deferred(item: ManifestItem) -> None:
    """What a document in a namespace the manifest creates will make, from the document alone: the cluster checks
    it when it is applied, once its namespace exists (a server dry run in a missing namespace is a 404)."""
    item.action = "create"
    item.diff = diff_objects(item.kind, {}, editable({k: v for k, v in item.doc.items() if k != "status"}))


def apply_manifest_item(cluster: Cluster, item: ManifestItem, *, dry_run: bool) -> None:
    """Like ``kubectl apply``: create when missing, otherwise a strategic merge patch of what the document says."""
    k = item.resource or kube.kind_for(item.kind)
    body = {key: value for key, value in item.doc.items() if key != "status"}
    body["metadata"] = (
        {**(body.get("metadata") or {}), "namespace": item.namespace} if k.namespaced else body["metadata"]
    )
    namespace = item.namespace if k.namespaced else None
    with connect(cluster) as api:
        try:
            current = kube.get_object(api, k, namespace, item.name)
        except kube.NotFound:
            current = None
        if current is None:
            item.action = "create"
            item.result = kube.create_object(api, k, namespace, body, dry_run=dry_run)
            item.diff = diff_objects(item.kind, {}, editable(item.result))
        else:
            item.action = "update"
            try:
                item.result = kube.patch_object(api, k, namespace, item.name, body, dry_run=dry_run)
            except kube.KubeError as exc:
                if exc.code != 415:  # custom resources take no strategic merge patch: a merge patch, as kubectl
                    raise
                item.result = kube.patch_object(
                    api, k, namespace, item.name, body, content_type=kube.MERGE, dry_run=dry_run
                )
            before = editable(current)
            if k.metadata_only:
                # Read as metadata alone (its values are never read), what it holds now is unknown, not absent:
                # each key shows a hidden value before, so that none reads as "added" when it may be unchanged.
                before.update({key: dict.fromkeys(item.result.get(key) or {}, redaction.HIDDEN) for key in ("data",)})
            item.diff = diff_objects(item.kind, before, editable(item.result))


def delete_manifest_item(cluster: Cluster, item: ManifestItem) -> None:
    """Delete what ``apply_manifest_item`` created (a Namespace whose contents the cluster then refused)."""
    k = item.resource or kube.kind_for(item.kind)
    with connect(cluster) as api:
        kube.delete_object(api, k, item.namespace if k.namespaced else None, item.name, propagation="Background")


class AuditUnavailable(Exception):
    """The audit trail cannot be written (the database is locked or down): nothing may be sent to the cluster."""


def record(
    *,
    user: Any,
    cluster: Cluster | None,
    action: str,
    kind: str,
    namespace: str,
    name: str,
    outcome: str,
    workload_uid: str = "",
    patch: Any = None,
    diff: str = "",
    message: str = "",
    revision: str = "",
) -> ChangeRecord:
    """One row of the audit trail, which every viewer reads: what it keeps is redacted as the pages are.
    Raises AuditUnavailable when it cannot be written."""
    row = ChangeRecord(
        user=user if getattr(user, "is_authenticated", False) else None,
        cluster=cluster,
        action=action,
        kind=kind,
        namespace=namespace,
        name=name,
        workload_uid=workload_uid,
        acted_as=_acted_as(cluster, user),
    )
    _fill(row, outcome=outcome, patch=patch, diff=diff, message=message, revision=revision)
    try:
        with transaction.atomic():  # a savepoint: a failed write leaves the request's transaction usable
            row.save()
    except DatabaseError as exc:
        raise AuditUnavailable(str(exc)) from exc
    return row


def _acted_as(cluster: Cluster | None, user: Any) -> str:
    if cluster is None or not cluster.impersonates:
        return ""
    try:
        return identity.person(user).describe()
    except identity.NoIdentity:
        return ""


def _fill(row: ChangeRecord, *, outcome: str, patch: Any, diff: str, message: str, revision: str) -> None:
    row.patch = redaction.redact(patch, digest=True) if patch is not None else {}
    row.diff = redaction.mask_text(diff, digest=True)
    row.outcome = outcome
    row.message = redaction.mask_text(message[:5000])
    row.revision = revision


def begin(*, patch: Any = None, **fields: Any) -> ChangeRecord:
    """The row of a change, written before it is sent (so the trail never misses one the cluster took), saying
    the outcome is unknown until ``finish`` records it. Raises AuditUnavailable: then send nothing."""
    return record(
        patch=patch,
        outcome=ChangeRecord.Outcome.UNKNOWN,
        message=_("Sent to the cluster; its answer was not recorded, so whether it applied is unknown."),
        **fields,
    )


def finish(
    row: ChangeRecord, outcome: str, *, patch: Any = None, diff: str = "", message: str = "", revision: str = ""
) -> bool:
    """The cluster's answer on the row ``begin`` wrote; False (logged) when it cannot be recorded, and the row
    keeps saying the outcome is unknown."""
    _fill(row, outcome=outcome, patch=patch, diff=diff, message=message, revision=revision)
    try:
        with transaction.atomic():
            row.save(update_fields=["patch", "diff", "outcome", "message", "revision", "workload_uid"])
    except DatabaseError:
        logger.exception("could not record the outcome of change record %s (%s)", row.pk, outcome)
        return False
    return True


def outcome_for(exc: kube.KubeError) -> str:
    if isinstance(exc, kube.NoAnswer):
        return ChangeRecord.Outcome.UNKNOWN  # it went out: the cluster may have applied it
    if isinstance(exc, kube.Conflict):
        return ChangeRecord.Outcome.CONFLICT
    if isinstance(exc, kube.Invalid) or exc.code == 400:
        return ChangeRecord.Outcome.INVALID
    if isinstance(exc, (kube.Forbidden, kube.Unauthorized)):
        return ChangeRecord.Outcome.REFUSED
    return ChangeRecord.Outcome.FAILED
