from django.apps import apps as global_apps

from workloads.roles import ensure_roles


def create_roles(sender: object, apps: object = global_apps, **kwargs: object) -> None:
    """Permissions exist only after migrate's post_migrate, so the groups are made there too."""
    if getattr(sender, "name", "") != "workloads":
        return
    try:
        group = apps.get_model("auth", "Group")
        permission = apps.get_model("auth", "Permission")
    except LookupError:
        return
    ensure_roles(group, permission)
