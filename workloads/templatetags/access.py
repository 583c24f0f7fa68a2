"""``{% may obj "scale" as allowed %}``: whether the signed-in person may do an action to a workload or Pod, as
the cluster's RBAC says (see workloads.access); ``allowed.reason`` says why not."""

from __future__ import annotations

from typing import Any

from django import template

from workloads import access

register = template.Library()


@register.simple_tag
def may(obj: Any, action: str) -> access.Permission:
    kind = getattr(obj, "kind", "Pod")
    return access.may(obj.cluster, action, kind=kind, namespace=obj.namespace, name=obj.name)
