"""Small template helpers for the Browse pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from workloads import presenters

register = template.Library()


@register.filter
def age(value: datetime | str | None) -> str:
    """kubectl's short age: 45s, 5m, 2d3h; of a datetime or of a Kubernetes timestamp string."""
    if isinstance(value, str):
        value = presenters.parse_time(value)
    return presenters.age(value, timezone.now())


@register.filter
def kind_slug(kind: str) -> str:
    return (kind or "").lower()


@register.filter
def pod_state(pod: object) -> str:
    return presenters.pod_state(
        getattr(pod, "phase", ""), getattr(pod, "ready", False), getattr(pod, "status_text", "")
    )


@register.simple_tag(takes_context=True)
def sort_query(context: template.Context, field: str) -> str:
    """The query string that sorts by `field`, toggling direction when it already sorts by it."""
    request = context["request"]
    params = request.GET.copy()
    current = params.get("sort", "")
    params["sort"] = f"-{field}" if current == field else field
    params.pop("page", None)
    return params.urlencode()


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, number: int) -> str:
    params = context["request"].GET.copy()
    params["page"] = str(number)
    return params.urlencode()
