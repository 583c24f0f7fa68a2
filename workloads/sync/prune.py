"""Forgetting what the cluster deleted long ago.

A deleted object keeps its row (``deleted_at`` set) so that history, the audit trail and "what
ran here" survive its deletion; after ``PODIUM_DELETED_RETENTION_HOURS`` the row goes, and with a
workload its rollout timeline. Run by Celery beat (``workloads.tasks.prune_deleted``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workloads.models import Event, Namespace, Node, Pod, RelatedObject, RolloutSample, TemplateRevision, Workload

PRUNED_MODELS = (Pod, Event, TemplateRevision, Workload, Namespace, Node, RelatedObject)
BATCH = 2000


def prune_deleted(*, now: datetime | None = None) -> dict[str, int]:
    """Delete rows whose object was deleted before the retention period; return how many per model."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.PODIUM_DELETED_RETENTION_HOURS)
    removed: dict[str, int] = {}
    for model in PRUNED_MODELS:
        count = 0
        while True:
            with transaction.atomic():
                rows = list(model.objects.filter(deleted_at__lt=cutoff).values_list("pk", "cluster_id", "uid")[:BATCH])
                if not rows:
                    break
                if model is Workload:
                    for cluster_id in {cluster_id for _, cluster_id, _ in rows}:
                        uids = [uid for _, c, uid in rows if c == cluster_id]
                        RolloutSample.objects.filter(cluster_id=cluster_id, workload_uid__in=uids).delete()
                model.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
                count += len(rows)
        removed[model.__name__] = count
    return removed
