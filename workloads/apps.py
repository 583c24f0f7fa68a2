from django.apps import AppConfig
from django.db.models.signals import post_migrate

from workloads.signals import create_roles


class WorkloadsConfig(AppConfig):
    name = "workloads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(create_roles, sender=self)
