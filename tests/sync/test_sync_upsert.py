"""A row whose indexed columns keep their values is written by an upsert that leaves them (and their indexes) alone:
after any sequence of changes, each row holds exactly what writing its newest object afresh gives."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support import factories as f
from workloads.models import Pod, TemplateRevision, Workload
from workloads.sync import ingest, sql

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

Obj = dict[str, Any]
_version = iter(range(100, 10_000))
READY = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "podIP": "10.0.0.7"}
UNREADY = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}], "podIP": "10.0.0.7"}


def _metadata(name: str, uid: str, owner: Obj, annotations: Obj) -> Obj:
    """In namespace shop, on template hash aaa, at a newer resourceVersion each time."""
    return {
        "name": name,
        "namespace": "shop",
        "uid": uid,
        "resourceVersion": str(next(_version)),
        "labels": {"pod-template-hash": "aaa"},
        "ownerReferences": [{**owner, "controller": True}],
        "annotations": annotations,
    }


def _pod(**changes: Any) -> Obj:
    owner = {"kind": "ReplicaSet", "name": "web-aaa", "uid": "rs-a"}
    metadata = _metadata("web-aaa-1", "p-1", owner, changes.pop("annotations", {}))
    return {"kind": "Pod", "metadata": metadata, "spec": {"containers": [{"name": "web"}]}, "status": READY, **changes}


def _row(model: type, cluster_id: int, uid: str) -> dict[str, Any]:
    row = model.objects.filter(cluster_id=cluster_id, uid=uid).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "cluster_id")}


def _upserts(queries: CaptureQueriesContext, model: type) -> list[str]:
    """The upserts into ``model``'s table (Django logs an executemany as "N times: ...")."""
    statements = [re.sub(r"^\d+ times: ", "", q["sql"]) for q in queries.captured_queries]
    return [s for s in statements if s.startswith(f"INSERT INTO {sql.table(model)}")]


def test_a_status_change_leaves_the_indexed_columns_and_every_row_ends_as_written_afresh() -> None:
    cluster = f.make_cluster()
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", _pod())])
    steps = [  # (the object, whether an indexed column moves)
        (_pod(annotations={"note": "1"}), False),
        (_pod(annotations={"note": "1"}, status=UNREADY), True),  # ready is indexed
        (_pod(annotations={"note": "2"}, status={**UNREADY, "podIP": "10.0.0.8"}), False),
        (
            _pod(annotations={"note": "3"}, status=UNREADY, spec={"containers": [{"name": "web"}], "nodeName": "n2"}),
            False,
        ),
    ]
    for n, (step, indexed_moves) in enumerate(steps):
        with CaptureQueriesContext(connection) as queries:
            ingest.apply_events(cluster.pk, "Pod", [("MODIFIED", step)])
        (written,) = _upserts(queries, Pod)
        assert ('"ready" = excluded."ready"' in written) == indexed_moves
        fresh = f.make_cluster(f"fresh-{n}")
        ingest.apply_events(fresh.pk, "Pod", [("ADDED", step)])
        assert _row(Pod, cluster.pk, "p-1") == _row(Pod, fresh.pk, "p-1")
    assert _row(Pod, cluster.pk, "p-1")["raw"]["metadata"]["annotations"] == {"note": "3"}


def test_a_row_marked_deleted_comes_back_whole() -> None:
    cluster = f.make_cluster()
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", _pod())])
    ingest.apply_events(cluster.pk, "Pod", [("DELETED", _pod())])
    assert _row(Pod, cluster.pk, "p-1")["deleted_at"] is not None
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", _pod(annotations={"back": "yes"}))])
    row = _row(Pod, cluster.pk, "p-1")
    assert row["deleted_at"] is None and row["raw"]["metadata"]["annotations"] == {"back": "yes"}


def test_a_replicasets_status_keeps_its_revision_row_and_a_new_revision_number_moves_it() -> None:
    cluster = f.make_cluster()

    def replicaset(revision: int, ready: int) -> Obj:
        owner = {"kind": "Deployment", "name": "web", "uid": "d-web"}
        metadata = _metadata("web-aaa", "rs-a", owner, {"deployment.kubernetes.io/revision": str(revision)})
        spec = {"replicas": 2, "template": {"metadata": {"labels": {"pod-template-hash": "aaa"}}}}
        return {
            "kind": "ReplicaSet",
            "metadata": metadata,
            "spec": spec,
            "status": {"replicas": 2, "readyReplicas": ready},
        }

    ingest.apply_events(cluster.pk, "ReplicaSet", [("ADDED", replicaset(1, 0))])
    ingest.apply_events(cluster.pk, "ReplicaSet", [("MODIFIED", replicaset(1, 2))])
    revision = TemplateRevision.objects.get(cluster=cluster, uid="rs-a")
    assert (revision.revision, revision.ready_replicas) == (1, 2)
    assert Workload.objects.get(cluster=cluster, uid="rs-a").ready_replicas == 2
    ingest.apply_events(cluster.pk, "ReplicaSet", [("MODIFIED", replicaset(3, 2))])  # a rollback to it
    assert TemplateRevision.objects.get(cluster=cluster, uid="rs-a").revision == 3
