"""Pods get a ``terminating`` column (metadata.deletionTimestamp is set), so that the rollout panel counts and draws
Pods from their columns; the rows already mirrored are filled from their stored objects."""

from django.db import migrations, models


def fill(apps, schema_editor) -> None:
    Pod = apps.get_model("workloads", "Pod")
    Pod.objects.filter(deleted_at__isnull=True, raw__metadata__has_key="deletionTimestamp").update(terminating=True)


class Migration(migrations.Migration):
    dependencies = [
        ("workloads", "0012_pod_live_count_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="pod",
            name="terminating",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
