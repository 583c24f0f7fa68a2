"""After sync, the mirror equals the cluster: every kind's (uid, resourceVersion) set matches."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tests.support.clusters import TargetCluster
from tests.support.stack import wait_for
from tests.support.sync import APP, assert_no_duplicate_rows, assert_pods_linked, mirror_equals_cluster, settle
from workloads.models import Cluster, Pod, RolloutSample, SyncState, TemplateRevision, Workload
from workloads.sync.watcher import SYNC_KINDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_it_mirrors_every_kind_with_sync_once(target: TargetCluster, cluster: Cluster) -> None:
    target.kubectl("apply", "-f", "-", input=APP)
    settle(target)

    def synced() -> bool:
        call_command("sync", "--once", "--cluster", "dc")
        return mirror_equals_cluster(target, cluster)

    wait_for(synced, timeout=30, interval=0.5, what="sync --once to match the cluster")
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.CONNECTED
    served = json.loads(target.kubectl("version", "-o", "json"))["serverVersion"]["gitVersion"]
    assert cluster.server_version == served
    web = Workload.objects.get(cluster=cluster, kind="Deployment", name="web")
    assert (web.desired_replicas, web.ready_replicas, web.health) == (3, 3, "healthy")
    # Pods resolve to their top workload through the ReplicaSet, and carry its template hash.
    pods = Pod.objects.filter(cluster=cluster, workload_uid=web.uid, deleted_at__isnull=True)
    assert pods.count() == 3
    revision = TemplateRevision.objects.get(cluster=cluster, workload_uid=web.uid, deleted_at__isnull=True)
    assert {p.template_hash for p in pods} == {revision.template_hash}
    assert revision.revision == 1
    bare = Pod.objects.get(cluster=cluster, name="nginx")
    assert bare.workload_uid == "" and bare.status_text == "Running"
    assert_no_duplicate_rows(cluster)
    assert_pods_linked(cluster)


def test_it_follows_the_cluster_with_watchers(target: TargetCluster, cluster: Cluster, start_worker) -> None:
    start_worker()
    target.kubectl("apply", "-f", "-", input=APP)
    settle(target)
    wait_for(lambda: mirror_equals_cluster(target, cluster), timeout=60, interval=0.5, what="mirror")
    assert SyncState.objects.filter(cluster=cluster, status=SyncState.Status.WATCHING).count() == len(SYNC_KINDS)
    web = Workload.objects.get(cluster=cluster, kind="Deployment", name="web")

    def last_point() -> RolloutSample | None:
        return RolloutSample.objects.filter(cluster=cluster, workload_uid=web.uid).order_by("at").last()

    # The timeline ends where the first rollout did: every desired Pod ready on the current template.
    wait_for(lambda: (p := last_point()) and p.new_ready == p.ready == p.desired == 3, timeout=10, what="timeline")

    target.kubectl("scale", "-n", "shop", "deploy/web", "--replicas=5")
    target.kubectl("rollout", "status", "-n", "shop", "deploy/web", "--timeout=60s", timeout=90)
    target.kubectl("delete", "pod", "-n", "shop", "nginx", "--wait=true")
    wait_for(lambda: mirror_equals_cluster(target, cluster), timeout=60, interval=0.5, what="mirror")
    web = Workload.objects.get(cluster=cluster, kind="Deployment", name="web")
    assert web.ready_replicas == 5
    # The rollout timeline recorded the scale-up, ending on five ready Pods of the current template.
    timeline = list(RolloutSample.objects.filter(cluster=cluster, workload_uid=web.uid).order_by("at"))
    assert timeline[-1].new_ready == 5 and timeline[-1].desired == 5
    assert any(point.ready == 3 for point in timeline)
    gone = Pod.objects.get(cluster=cluster, name="nginx")
    assert gone.deleted_at is not None  # kept for history, marked deleted
    assert_no_duplicate_rows(cluster)
    assert_pods_linked(cluster)


def test_it_reports_an_unreachable_cluster(target: TargetCluster, cluster: Cluster) -> None:
    target.stop()
    call_command("sync", "--once", "--cluster", "dc")
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.UNREACHABLE
    assert "reach" in cluster.status_message
