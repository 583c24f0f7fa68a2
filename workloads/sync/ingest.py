"""Writing batches of watch events to the mirror: one transaction, bulk upserts keyed by uid,
guarded by resourceVersion so that a stale event never overwrites a newer row."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection, models, transaction
from django.utils import timezone

from workloads import objects, related
from workloads.kinds import SAMPLED_KINDS, WORKLOAD_KINDS
from workloads.live.publish import Changed
from workloads.models import Event, Namespace, Node, Pod, RelatedObject, TemplateRevision, Workload
from workloads.sync import rows, samples, sql

Obj = dict[str, Any]

# Batches of these kinds can move a rollout's counts (Pod readiness moves its workload's status too).
RELATED_KINDS = set(RelatedObject.Kind.values)
# A full list is written in transactions of about this many objects (a few pages): fewer commits,
# while memory stays bounded and other writers get their turn between them.
WRITE_AT_ONCE = 2000


def _columns_for(kind: str, obj: Obj) -> dict[str, Any]:
    if kind in WORKLOAD_KINDS:
        return rows.workload_columns(kind, obj)
    if kind == "Pod":
        return rows.pod_columns(obj)
    if kind == "Event":
        return rows.event_columns(obj)
    if kind == "Namespace":
        return rows.namespace_columns(obj)
    if kind == "Node":
        return rows.node_columns(obj)
    if kind in RELATED_KINDS:
        return rows.related_columns(kind, obj)
    return {}


MODEL_FOR: dict[str, type[models.Model]] = {
    "Namespace": Namespace,
    "Node": Node,
    "Pod": Pod,
    "Event": Event,
    "ControllerRevision": TemplateRevision,
    **{k: Workload for k in WORKLOAD_KINDS},
    **{k: RelatedObject for k in RELATED_KINDS},
}


class Encoded(str):
    """A JSON column's value already encoded (by ``prepare``): written as it is."""

    __slots__ = ()


def _json(value: Any) -> str:
    if type(value) is Encoded:
        return value
    return orjson.dumps(value).decode()


CHANGES = ("ADDED", "MODIFIED", "DELETED")


class Prepared:
    """One watch event or listed object reduced to what applying it needs: the type, the object's uid,
    resourceVersion, namespace and controller's uid, and (unless it was deleted) its row's columns with the JSON ones
    already encoded. ``obj`` is kept only for the kinds whose batches read more of it (``related.touched_workloads``).
    Made as soon as the object is parsed: a watcher holds a batch for up to BUSY_BATCH_MAX_WAIT, and a batch of parsed
    Pods (about a hundred dicts and lists each) held that long cost more in allocation and garbage collection than
    parsing it, while these few flat values cost next to nothing to hold."""

    __slots__ = ("type", "uid", "resource_version", "namespace", "owner_uid", "columns", "revision", "involved", "obj")

    def __init__(self, type_: str, uid: str, resource_version: int) -> None:
        self.type, self.uid, self.resource_version = type_, uid, resource_version
        self.namespace = self.owner_uid = ""
        self.columns: dict[str, Any] | None = None
        self.revision: dict[str, Any] | None = None  # a ReplicaSet's row as a template revision
        self.involved: tuple[str, str] = ("", "")  # an Event's involved object: (kind, uid)
        self.obj: Obj | None = None


JSON_COLUMNS = ("raw", "labels", "template", "selector", "keys")


def _encoded(columns: dict[str, Any]) -> dict[str, Any]:
    for name in JSON_COLUMNS:
        value = columns.get(name)
        if value is not None and type(value) is not Encoded:
            columns[name] = Encoded(orjson.dumps(value).decode())
    return columns


def prepare(kind: str, type_: str, obj: Obj) -> Prepared:
    """``obj`` (an event's object of ``kind``, or a listed one as ADDED) as ``apply_events`` takes it. Pure: no
    database, so a watch's reader makes it the moment it has parsed the event."""
    m = obj.get("metadata") or {}
    prepared = Prepared(type_, m.get("uid") or "", rows.resource_version(obj))
    if type_ not in CHANGES or not prepared.uid:
        return prepared
    prepared.namespace = m.get("namespace") or ""
    prepared.owner_uid = objects.controller_ref(obj).get("uid") or ""
    if kind == "Event":
        involved = obj.get("involvedObject") or {}
        prepared.involved = (involved.get("kind") or "", involved.get("uid") or "")
    kept = rows.without_values(kind, obj)
    if kind in RELATED_KINDS:
        prepared.obj = kept
    if type_ == "DELETED":
        return prepared
    # The row keeps what the mirror may keep (``kept``); its columns are read from all the cluster sent (a
    # ConfigMap's key names).
    base = _encoded(rows.base_columns(kept))
    if kind == "ControllerRevision":
        prepared.columns = _encoded(base | rows.template_revision_columns(kind, obj))
    else:
        prepared.columns = _encoded(base | _columns_for(kind, obj))
    if kind == "ReplicaSet":
        prepared.revision = _encoded(base | rows.template_revision_columns(kind, obj))
    return prepared


def _identity(value: Any) -> Any:
    return value


def _sqlite_datetime(value: datetime | None) -> str | None:
    """What Django's SQLite backend stores for an aware datetime (naive UTC text), without its
    per-value settings look-ups."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def _converter(field: models.Field) -> Any:
    if isinstance(field, models.JSONField):
        return _json
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite":
            return _sqlite_datetime
        return connection.ops.adapt_datetimefield_value
    return _identity


@functools.cache
def indexed_columns(model: type[models.Model]) -> tuple[str, ...]:
    """The columns an index of ``model`` holds, besides the (cluster, uid) every row is found by (for these models a
    column is named as its field). An upsert that sets one of them rewrites that index's entry, as SQLite decides by
    the columns an UPDATE names, not by their values: at nine indexes on Pods, four times what setting the others
    costs."""
    names = {f.column for f in model._meta.concrete_fields if f.db_index or f.unique}
    for index in model._meta.indexes:
        names |= {model._meta.get_field(name.lstrip("-")).column for name in index.fields}
    for constraint in model._meta.constraints:
        names |= {model._meta.get_field(name).column for name in getattr(constraint, "fields", ())}
    return tuple(sorted(names - {"id", "cluster_id", "uid"}))


@functools.cache
def _upsert_statement(
    model: type[models.Model], vendor: str, *, indexes_kept: bool = False
) -> tuple[str, list[str], dict[str, Any], list[Any]]:
    """(the statement, the field names in its order, their defaults, (index, converter) of those that need one),
    once for each model: building it took longer than running it for a small batch. With ``indexes_kept`` an update
    leaves the indexed columns as they are (for rows whose indexed columns did not change)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    kept = {"cluster_id", "uid", *(indexed_columns(model) if indexes_kept else ())}
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    json_cast = "::jsonb" if vendor == "postgresql" else ""
    placeholders = ", ".join(f"%s{json_cast}" if isinstance(f, models.JSONField) else "%s" for f in fields)
    updates = ", ".join(f"{quote(f.column)} = excluded.{quote(f.column)}" for f in fields if f.column not in kept)
    statement = (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) VALUES ({placeholders}) "
        f"ON CONFLICT ({quote('cluster_id')}, {quote('uid')}) DO UPDATE SET {updates} "
        f"WHERE {table}.{quote('resource_version')} < excluded.{quote('resource_version')}"
    )
    defaults = {f.name: f.get_default() for f in fields}  # only read: a shared {} default is never changed
    defaults["deleted_at"] = None
    converted = [(i, convert) for i, convert in enumerate(_converter(f) for f in fields) if convert is not _identity]
    return statement, [f.name for f in fields], defaults, converted


def _upsert(
    model: type[models.Model], cluster_id: int, columns: list[dict[str, Any]], stored: dict[str, dict] | None = None
) -> None:
    """INSERT ... ON CONFLICT (cluster, uid) DO UPDATE, only where the row is older: one statement
    for the batch (SQLite and PostgreSQL both speak it), without the ORM's per-value overhead. Rows ``stored``
    (``{uid: its indexed columns}``, as ``_fresh`` read them) whose indexed columns keep their values are
    written by a second statement that leaves those columns and their indexes alone: most changes are status."""
    if not columns:
        return
    statement, names, defaults, converted = _upsert_statement(model, connection.vendor)
    indexed = indexed_columns(model)
    defaults = defaults | {"cluster": cluster_id}
    params: list[list[Any]] = []
    kept: list[list[Any]] = []
    for cols in columns:
        values = defaults | cols
        row = [values[name] for name in names]
        # Values as the database gave them back: a datetime read is naive on SQLite, so never equal to the aware one
        # written, and such a row takes the full statement (only ever more work, never a wrong row).
        held = stored.get(cols["uid"]) if stored else None
        same = held is not None and all(held[c] == values[c] for c in indexed)
        for i, convert in converted:
            row[i] = convert(row[i])
        (kept if same else params).append(row)
    with connection.cursor() as cursor:
        if params:
            cursor.executemany(statement, params)
        if kept:
            cursor.executemany(_upsert_statement(model, connection.vendor, indexes_kept=True)[0], kept)


def _held(
    model: type[models.Model], cluster_id: int, uids: Iterable[str], columns: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """{uid: {column: value}} of the rows of ``uids`` that exist, in one query."""
    uids = list(uids)
    if not uids:
        return {}
    placeholders, params = sql.among(uids)
    return {
        uid: dict(zip(columns, values, strict=True))
        for uid, *values in sql.fetch(
            f"SELECT uid, {', '.join(columns)} FROM {sql.table(model)}"
            f" WHERE cluster_id = %s AND uid IN ({placeholders})",
            [cluster_id, *params],
        )
    }


def _fresh(
    model: type[models.Model], cluster_id: int, latest: dict[str, Prepared]
) -> tuple[dict[str, Prepared], dict[str, dict[str, Any]]]:
    """Drop events older than what the row already holds; also {uid: what the row held}: its resourceVersion and its
    indexed columns (what the upsert compares, and for Pods what a rollout point counts, for ReplicaSets and Jobs
    their owner)."""
    stored = _held(model, cluster_id, latest, ("resource_version", *indexed_columns(model)))
    fresh = {
        uid: p for uid, p in latest.items() if uid not in stored or p.resource_version > stored[uid]["resource_version"]
    }
    return fresh, stored


def _counts_moved(
    fresh: dict[str, Prepared], stored: dict[str, dict[str, Any]], columns: list[dict[str, Any]]
) -> set[str]:
    """The workloads whose rollout counts (ready Pods, and of them those on a template hash) a Pod batch moved: a
    Pod counts only while ready and not deleted, so most changes (an annotation, a restart count) move none."""
    now = {c["uid"]: (c["template_hash"], c["workload_uid"]) for c in columns if c["ready"]}
    moved = set()
    for uid in fresh:
        held = stored.get(uid)
        was_counted = held and held["ready"] and held["deleted_at"] is None
        was = (held["template_hash"], held["workload_uid"]) if was_counted else None
        is_ = now.get(uid)
        if was != is_:
            moved |= {counted[1] for counted in (was, is_) if counted}
    return moved - {""}


def apply_events(
    cluster_id: int,
    kind: str,
    events: Iterable[Prepared | tuple[str, Obj]],
    *,
    sample: bool = True,
    deferred: samples.Deferred | None = None,
) -> Changed:
    """Apply ADDED/MODIFIED/DELETED events of one kind, each ``prepare``d or as (type, object); BOOKMARKs must be
    filtered out before. With ``sample`` off the caller records the rollout points itself (once for a whole list);
    with ``deferred`` the points are owed to it (a busy watcher records them together)."""

    def record(workload_uids: set[str], *, only_rolling: bool = False) -> None:
        if deferred is not None:
            deferred.add(workload_uids, only_rolling=only_rolling)
        else:
            samples.record(cluster_id, workload_uids, only_rolling=only_rolling)

    latest: dict[str, Prepared] = {}
    for event in events:
        p = event if type(event) is Prepared else prepare(kind, *event)
        if not p.uid:
            continue
        previous = latest.get(p.uid)
        if previous is None or p.resource_version >= previous.resource_version:
            latest[p.uid] = p
    changed = Changed(kinds={kind})
    if not latest:
        return changed
    model = MODEL_FOR[kind]
    with transaction.atomic():
        latest, stored = _fresh(model, cluster_id, latest)
        live = [p for p in latest.values() if p.type != "DELETED"]
        gone = [p for p in latest.values() if p.type == "DELETED"]
        columns = [p.columns for p in live]  # each event's own (``_resolve_workloads`` adds to them)
        sampled = changed.workload_uids  # filled below, by _collect_changes
        if kind == "Pod":
            _resolve_workloads(cluster_id, columns)
            sampled = _counts_moved(latest, stored, columns)
        _upsert(model, cluster_id, columns, stored)
        if kind == "ReplicaSet":
            revisions = [p.revision for p in live]
            sampled, revisions_stored = _revisions_moved(cluster_id, revisions, gone)
            _upsert(TemplateRevision, cluster_id, revisions, revisions_stored)
        if gone:
            _mark_deleted(cluster_id, kind, {(p.uid, p.resource_version) for p in gone})
        linked: dict[str, str] = {}
        if kind in ("ReplicaSet", "Job"):
            linked = _to_link(kind, _owners_of(kind, live, columns, cluster_id), stored, columns)
            _link_pods(cluster_id, linked)
        pod_workloads = {c["uid"]: c["workload_uid"] for c in columns} if kind == "Pod" else {}
        _collect_changes(cluster_id, kind, list(latest.values()), changed, pod_workloads)
    if sample and kind in SAMPLED_KINDS:
        # After the commit, for the same reason as the linking below: a point counts Pods against
        # the current template's hash, and the Pod and ReplicaSet batches that move it may be in
        # flight at once; whichever commits last records the point that sees both.
        record(sampled, only_rolling=kind == "Pod")
    if kind in ("Pod", "ReplicaSet", "Job") and live:
        # Watchers of different kinds write at once: a Pod batch and its ReplicaSet's batch may each
        # miss the other's uncommitted rows. Linking again after the commit means that whichever
        # of the two commits last sees both.
        if kind == "Pod":
            linked = _to_link(kind, _owners_of(kind, live, columns, cluster_id), stored, columns)
        moved = _link_pods(cluster_id, linked)
        if moved:
            changed.workload_uids |= moved
            if sample:
                record(moved)
    return changed


def _revisions_moved(
    cluster_id: int, revisions: list[dict[str, Any]], gone: list[Prepared]
) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """The workloads whose newest revision a ReplicaSet batch may have moved: a ReplicaSet that is new, deleted, or
    carries another revision number or template hash. Its status alone moves no rollout point (the counts are the
    Deployment's and its Pods'), and is most of what a busy cluster sends. Also {uid: the revision row's indexed
    columns}, for the upsert."""
    stored = _held(TemplateRevision, cluster_id, [r["uid"] for r in revisions], indexed_columns(TemplateRevision))
    newest = {uid: (row["revision"], row["template_hash"]) for uid, row in stored.items() if row["deleted_at"] is None}
    moved = {r["workload_uid"] for r in revisions if newest.get(r["uid"]) != (r["revision"], r["template_hash"])}
    moved |= {p.owner_uid for p in gone}
    return moved - {"", None}, stored


def _mark_deleted(cluster_id: int, kind: str, gone: set[tuple[str, int]]) -> None:
    now = timezone.now()
    models_ = [MODEL_FOR[kind]] + ([TemplateRevision] if kind == "ReplicaSet" else [])
    for model in models_:
        for uid, rv in gone:
            model.objects.filter(cluster_id=cluster_id, uid=uid, resource_version__lt=rv).update(
                deleted_at=now, resource_version=rv
            )


def _resolve_workloads(cluster_id: int, pod_columns: list[dict[str, Any]]) -> None:
    """Each Pod's top workload: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, or its
    direct controller. One query for the batch."""
    parents = _parents(cluster_id, {c["owner_uid"] for c in pod_columns} - {""})
    for cols in pod_columns:
        cols["workload_uid"] = parents.get(cols["owner_uid"], cols["owner_uid"])


def _parents(cluster_id: int, owner_uids: set[str]) -> dict[str, str]:
    """{ReplicaSet or Job uid: its owner's uid} for those of ``owner_uids`` that have an owner."""
    if not owner_uids:
        return {}
    placeholders, uids = sql.among(owner_uids)
    return dict(
        sql.fetch(
            f"SELECT uid, owner_uid FROM {sql.table(Workload)}"
            f" WHERE cluster_id = %s AND uid IN ({placeholders}) AND kind IN ('ReplicaSet', 'Job') AND owner_uid <> ''",
            [cluster_id, *uids],
        )
    )


def _link_pods(cluster_id: int, parents: dict[str, str]) -> set[str]:
    """Point the Pods of each ReplicaSet or Job (``{its uid: its owner's uid}``) at the top workload;
    returns the workloads whose Pods moved."""
    if not parents:
        return set()
    placeholders, owners = sql.among(parents)
    pairs = sql.fetch(
        f"SELECT DISTINCT owner_uid, workload_uid FROM {sql.table(Pod)}"
        f" WHERE cluster_id = %s AND owner_uid IN ({placeholders})",
        [cluster_id, *owners],
    )
    stale = {owner for owner, workload in pairs if workload != parents[owner]}
    for owner_uid in stale:
        Pod.objects.filter(cluster_id=cluster_id, owner_uid=owner_uid).update(workload_uid=parents[owner_uid])
    return {parents[owner] for owner in stale}


def _to_link(
    kind: str, parents: dict[str, str], stored: dict[str, dict[str, Any]], columns: list[dict[str, Any]]
) -> dict[str, str]:
    """Of ``parents`` ({ReplicaSet or Job uid: its owner's uid}), those whose Pods may point elsewhere. A Pod is
    written pointing at its owner's parent as the mirror knew it: only one that was unknown, or that has changed since
    (a ReplicaSet or Job batch committed meanwhile), needs its Pods linked. A ReplicaSet or Job batch links the Pods
    only of one that is new or has another owner than its row held (most of what a busy cluster sends is status)."""
    if kind == "Pod":
        written = {c["owner_uid"]: c["workload_uid"] for c in columns}
        return {uid: parent for uid, parent in parents.items() if written.get(uid) != parent}
    return {uid: parent for uid, parent in parents.items() if uid not in stored or stored[uid]["owner_uid"] != parent}


def _owners_of(kind: str, live: list[Prepared], columns: list[dict[str, Any]], cluster_id: int) -> dict[str, str]:
    """{ReplicaSet or Job uid: its owner's uid} for what this batch links."""
    if kind in ("ReplicaSet", "Job"):
        return {p.uid: p.owner_uid for p in live if p.owner_uid}
    if kind == "Pod":
        return _parents(cluster_id, {c["owner_uid"] for c in columns} - {""})
    return {}


def _collect_changes(
    cluster_id: int, kind: str, events: list[Prepared], changed: Changed, pod_workloads: dict[str, str]
) -> None:
    for p in events:
        if p.namespace:
            changed.namespaces.add(p.namespace)
        if kind in WORKLOAD_KINDS:
            changed.workload_uids.add(p.uid)
            if p.owner_uid:
                changed.workload_uids.add(p.owner_uid)
        elif kind == "ControllerRevision":
            if p.owner_uid:
                changed.workload_uids.add(p.owner_uid)
        elif kind == "Pod":
            changed.pod_uids.add(p.uid)
        elif kind == "Event":
            involved_kind, involved_uid = p.involved
            if involved_kind == "Pod":
                changed.pod_uids.add(involved_uid)
            elif involved_uid:
                changed.workload_uids.add(involved_uid)
    if kind in RELATED_KINDS:
        # The pages of the workloads that show these objects (a ConfigMap created clears "not found" live).
        changed.workload_uids |= related.touched_workloads(cluster_id, kind, [p.obj for p in events if p.obj])
    if kind in ("Pod", "Event"):
        pod_uids = changed.pod_uids - {""}
        unknown = pod_uids - set(pod_workloads)
        changed.workload_uids |= set(pod_workloads.values())
        if unknown:
            changed.workload_uids |= set(
                Pod.objects.filter(cluster_id=cluster_id, uid__in=unknown)
                .exclude(workload_uid="")
                .values_list("workload_uid", flat=True)
            )
        if workload_uids := changed.workload_uids - {""}:
            placeholders, uids = sql.among(workload_uids)
            changed.workload_uids |= {
                owner
                for (owner,) in sql.fetch(
                    f"SELECT owner_uid FROM {sql.table(Workload)} WHERE cluster_id = %s"
                    f" AND uid IN ({placeholders}) AND kind = 'ReplicaSet' AND owner_uid <> ''",
                    [cluster_id, *uids],
                )
            }
    changed.workload_uids.discard("")


def replace_all(cluster_id: int, kind: str, pages: Iterable[tuple[list[Obj], str]]) -> tuple[Changed, str, int]:
    """After a full, paged list: upsert everything listed, a few pages at a time (memory stays
    bounded), then mark deleted every row of this kind the list no longer has (objects deleted while
    nobody watched). Returns (what changed, the list's resourceVersion, how many objects)."""
    changed = Changed(kinds={kind})
    listed: set[str] = set()
    list_resource_version = ""
    pending: list[Prepared] = []
    for objs, page_version in pages:
        list_resource_version = page_version
        # Prepared page by page (see Prepared): a few pages wait here to be written together.
        page = [prepare(kind, "ADDED", o) for o in objs]
        listed.update(p.uid for p in page)
        pending.extend(page)
        if len(pending) >= WRITE_AT_ONCE:
            changed.merge(apply_events(cluster_id, kind, pending, sample=False))
            pending = []
    if pending:
        changed.merge(apply_events(cluster_id, kind, pending, sample=False))
    model = MODEL_FOR[kind]
    stale = model.objects.live().filter(cluster_id=cluster_id)
    if model in (Workload, RelatedObject):
        stale = stale.filter(kind=kind)
    elif model is TemplateRevision:
        stale = stale.filter(source_kind=kind)
    version = int(list_resource_version or 0)
    stale = stale.filter(resource_version__lte=version)
    gone = [(uid, ns) for uid, ns in stale.values_list("uid", "namespace") if uid not in listed]
    if gone:
        with transaction.atomic():
            _mark_deleted(cluster_id, kind, {(uid, version) for uid, _ in gone})
        changed.namespaces |= {ns for _, ns in gone if ns}
        if kind in WORKLOAD_KINDS:
            changed.workload_uids |= {uid for uid, _ in gone}
        if kind == "Pod":
            changed.pod_uids |= {uid for uid, _ in gone}
            changed.workload_uids |= set(
                model.objects.filter(cluster_id=cluster_id, uid__in=[uid for uid, _ in gone])
                .exclude(workload_uid="")
                .values_list("workload_uid", flat=True)
            )
    if kind in SAMPLED_KINDS:
        # Once for the whole list, after its last commit (see apply_events).
        samples.record(cluster_id, changed.workload_uids, only_rolling=kind == "Pod")
    return changed, list_resource_version, len(listed)
