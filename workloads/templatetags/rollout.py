"""The rollout panel's data, for templates that render the panel (the workload page, its live updates, the panel
URL). A tag rather than view context so that every page and live frame showing the panel gets the same data from
one place, without each view knowing about rollouts."""

from __future__ import annotations

from typing import Any

from django import template

from workloads.models import Workload
from workloads.rollouts.panel import panel_context

register = template.Library()


@register.simple_tag
def rollout_panel(w: Workload) -> dict[str, Any]:
    return panel_context(w)
