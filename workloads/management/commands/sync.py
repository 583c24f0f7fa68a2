"""`python manage.py sync --once [--cluster NAME]`: list everything once and exit."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workloads.models import Cluster
from workloads.sync.watcher import sync_once


class Command(BaseCommand):
    help = "Mirror clusters into the database once (list every kind), for debugging and scripts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", required=True, help="list once and exit")
        parser.add_argument("--cluster", help="only this cluster (by name)")

    def handle(self, *args: object, once: bool, cluster: str | None, **options: object) -> None:
        clusters = Cluster.objects.filter(enabled=True)
        if cluster:
            clusters = clusters.filter(name=cluster)
            if not clusters.exists():
                raise CommandError(f"no enabled cluster named {cluster!r}")
        for c in clusters:
            counts = sync_once(c)
            c.refresh_from_db()
            summary = ", ".join(f"{k} {v if v >= 0 else 'failed'}" for k, v in counts.items())
            self.stdout.write(f"{c.name}: {c.status} ({summary})")
            if c.status_message:
                self.stdout.write(f"  {c.status_message}")
