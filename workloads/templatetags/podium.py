"""Small template helpers for the Browse pages."""

from __future__ import annotations

import json
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from workloads import objects
from workloads.browse import pod_rows as pod_rows_module
from workloads.browse import presenters
from workloads.edits.validators import hidden_characters
from workloads.models import Workload

register = template.Library()


@register.filter
def age(value: datetime | str | None) -> str:
    """kubectl's short age: 45s, 5m, 2d3h; of a datetime or of a Kubernetes timestamp string."""
    if isinstance(value, str):
        value = objects.parse_time(value)
    return presenters.age(value, timezone.now())


@register.filter
def age_element(value: datetime | str | None) -> SafeString:
    """The age as a ``<time data-age>`` that the page keeps counting (``pod_rows.age_element``)."""
    if isinstance(value, str):
        value = objects.parse_time(value)
    return mark_safe(pod_rows_module.age_element(value, timezone.now()))  # noqa: S308 - escaped there


@register.simple_tag
def age_units() -> str:
    """The units ``age`` writes, as JSON, for the page's own counting of ages (static/podium/ages.js)."""
    return json.dumps({unit: presenters.age_unit(unit) for unit in "smhdy"}, ensure_ascii=False)


@register.simple_tag(takes_context=True)
def pod_rows(context: template.Context, pods: object, show_namespace: object = False) -> SafeString:
    """The rows of a Pods table (``workloads.browse.pod_rows``), for the page's cluster."""
    return pod_rows_module.render(pods or (), context["cluster"].name, show_namespace=bool(show_namespace))


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


@register.filter
def reveal(value: object) -> SafeString:
    """The value escaped, with each character that renders as nothing or reorders the text (U+202E, U+200B, ...)
    shown as a marked code instead: two values that look alike must not look alike here."""
    text = "" if value is None else str(value)
    hidden = set(hidden_characters(text))
    if not hidden:
        return escape(text)
    parts = []
    for ch in text:
        code = f"U+{ord(ch):04X}"
        parts.append(
            f'<mark class="hidden-char" title="{code}">&lt;{code}&gt;</mark>' if code in hidden else escape(ch)
        )
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above


@register.filter
def health_label(health: str) -> str:
    """A health badge's word in the reader's language (the value itself stays in the CSS class)."""
    try:
        return str(Workload.Health(health).label)
    except ValueError:
        return health


@register.filter
def action_label(action: str) -> str:
    """An audit trail action in the reader's language."""
    return presenters.action_label(action)
