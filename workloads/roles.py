"""Podium's three roles, as Django groups with permissions.

viewer reads everything; editor also changes workloads; admin also manages clusters and users. Reading
container logs is a permission of its own (logs may hold what object metadata does not): every role has it by
default, and an admin can take it from a group or grant it to a person.
"""

from __future__ import annotations

VIEW = "workloads.view_cluster_data"
CHANGE = "workloads.change_workloads"
MANAGE = "workloads.manage_clusters"
LOGS = "workloads.view_logs"

ROLES: dict[str, list[str]] = {
    "viewer": ["view_cluster_data", "view_logs"],
    "editor": ["view_cluster_data", "view_logs", "change_workloads"],
    "admin": [
        "view_cluster_data",
        "view_logs",
        "change_workloads",
        "manage_clusters",
        "add_cluster",
        "change_cluster",
        "delete_cluster",
        "view_cluster",
        "view_changerecord",
    ],
}


def ensure_roles(group_model: type, permission_model: type) -> None:
    """Create or update the role groups; admins also get Django's user and group admin rights."""
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        perms = list(permission_model.objects.filter(content_type__app_label="workloads", codename__in=codenames))
        if role == "admin":
            perms += list(
                permission_model.objects.filter(
                    content_type__app_label="auth",
                    codename__in=[f"{a}_{m}" for a in ("add", "change", "delete", "view") for m in ("user", "group")],
                )
            )
        group.permissions.set(perms)
