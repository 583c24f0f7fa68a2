"""First-run set-up for the embedded defaults: a dev admin user and the democluster Cluster."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from workloads.models import Cluster


class Command(BaseCommand):
    help = "Create the dev admin user (once) and register the embedded democluster."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kubeconfig", help="kubeconfig written by democluster")

    def handle(self, *args: object, kubeconfig: str | None = None, **options: object) -> None:
        login_file = Path(settings.VAR_DIR) / "dev-admin.txt"
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser("admin", "admin@localhost", password)
            user.groups.add(Group.objects.get(name="admin"))
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.write_text(f"admin / {password}\n")
            login_file.chmod(0o600)
            self.stdout.write(f"Created the dev admin user: admin / {password}")
        elif not login_file.exists():
            login_file.write_text(
                "admin / (password set earlier; reset it with: python manage.py changepassword admin)\n"
            )
        if kubeconfig:
            Cluster.objects.update_or_create(
                name="democluster",
                defaults={"connection": Cluster.Connection.DEMOCLUSTER, "kubeconfig_path": kubeconfig, "context": ""},
            )
