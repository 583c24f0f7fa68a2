"""Deleted objects stay in the mirror for PODIUM_DELETED_RETENTION_HOURS, then Celery beat forgets them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.support import factories as f
from workloads.models import Event, Pod, RolloutSample, TemplateRevision, Workload
from workloads.tasks import prune_deleted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


def _deleted(hours_ago: float, *rows: object) -> None:
    when = timezone.now() - timedelta(hours=hours_ago)
    for row in rows:
        type(row).objects.filter(pk=row.pk).update(deleted_at=when)


def test_it_forgets_a_workload_deleted_before_the_retention_period_and_keeps_a_recent_one(
    viewer_client: Client,
) -> None:
    cluster = f.make_cluster()
    f.make_namespace(cluster, "shop")
    template = f.pod_template({"app": "old-web"}, [f.container("web", "nginx:1.27")])
    old = f.make_deployment(cluster, "shop", "old-web", template)
    old_rs = f.make_replicaset(cluster, old, template, revision=1, replicas=1, also_workload_row=False)
    old_pod = f.make_pod(cluster, "shop", f"{old_rs.name}-x1", template, workload_uid=old.uid)
    old_event = f.make_event(
        cluster,
        kind="Pod",
        name=old_pod.name,
        involved_uid=old_pod.uid,
        namespace="shop",
        reason="Killing",
        message="Stopping container web",
    )
    RolloutSample.objects.create(cluster=cluster, workload_uid=old.uid, at=timezone.now(), desired=3)
    recent = f.make_deployment(cluster, "shop", "recent-web")
    live = f.make_deployment(cluster, "shop", "live-web")
    hours = settings.PODIUM_DELETED_RETENTION_HOURS
    _deleted(hours + 1, old, old_rs, old_pod, old_event)
    _deleted(hours - 1, recent)

    assert viewer_client.get("/c/demo/ns/shop/deployment/old-web/").status_code == 200  # history, for now

    removed = prune_deleted.apply().get()

    assert removed["Workload"] == 1 and removed["Pod"] == 1 and removed["TemplateRevision"] == 1
    assert viewer_client.get("/c/demo/ns/shop/deployment/old-web/").status_code == 404
    assert viewer_client.get("/c/demo/ns/shop/deployment/recent-web/").status_code == 200
    assert viewer_client.get("/c/demo/ns/shop/deployment/live-web/").status_code == 200
    assert set(Workload.objects.values_list("name", flat=True)) == {recent.name, live.name}
    assert not Pod.objects.exists() and not Event.objects.exists() and not TemplateRevision.objects.exists()
    assert not RolloutSample.objects.filter(workload_uid=old.uid).exists()


def test_beat_runs_the_pruning_on_its_schedule() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["prune-deleted"]
    assert entry["task"] == prune_deleted.name
    assert entry["schedule"] == 3600
