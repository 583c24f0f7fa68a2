"""The rollout timeline chart: Pods per template revision over time, from the rollout samples, as SVG numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.timezone import localtime
from django.utils.translation import gettext as _

TICK_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass
class ChartMark:
    x: float
    label: str
    title: str


@dataclass
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    y_max: int
    new_path: str = ""
    old_path: str = ""
    desired_path: str = ""
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    marks: list[ChartMark] = field(default_factory=list)
    points: int = 0
    start: datetime | None = None
    end: datetime | None = None
    summary: str = ""  # the chart in words, for those who do not see it


def timeline_chart(
    samples: Sequence[Any],
    *,
    now: datetime,
    width: int = 1200,
    height: int = 190,
    revision_labels: dict[str, str] | None = None,
) -> Chart:
    """Old and new ready Pods over time as step lines; ``samples`` have ``at``, ``revision``, ``desired``,
    ``ready``, ``new_ready`` (RolloutSample rows). A vertical mark where the current template changes."""
    left, top, right, bottom = 34, 10, 40, 24
    chart = Chart(width, height, left, top, width - left - right, height - top - bottom, 1)
    if not samples:
        return chart
    samples = sorted(samples, key=lambda s: s.at)
    start, end = samples[0].at, max(now, samples[-1].at)
    span = max((end - start).total_seconds(), 1.0)
    y_max = max(1, *(max(s.desired, s.ready, s.new_ready) for s in samples))
    chart.y_max, chart.points, chart.start, chart.end = y_max, len(samples), start, end

    def x(at: datetime) -> float:
        return round(left + chart.plot_w * (at - start).total_seconds() / span, 1)

    def y(value: int) -> float:
        return round(top + chart.plot_h * (1 - value / y_max), 1)

    def steps(value: Any) -> str:
        parts = []
        previous = None
        for s in samples:
            v = value(s)
            if previous is None:
                parts.append(f"M{x(s.at)},{y(v)}")
            elif v != previous:
                parts.append(f"H{x(s.at)}V{y(v)}")
            previous = v
        parts.append(f"H{x(end)}")
        return "".join(parts)

    chart.new_path = steps(lambda s: s.new_ready)
    chart.old_path = steps(lambda s: max(0, s.ready - s.new_ready))
    chart.desired_path = steps(lambda s: s.desired)
    step = max(1, math.ceil(y_max / 4))
    chart.y_ticks = [(y(v), v) for v in range(0, y_max + 1, step)]
    seconds = next((t for t in TICK_SECONDS if span / t <= 6), TICK_SECONDS[-1])
    first = math.ceil(start.timestamp() / seconds) * seconds
    for tick in range(int(first), int(end.timestamp()) + 1, seconds):
        at = datetime.fromtimestamp(tick, tz=start.tzinfo)
        chart.x_ticks.append((x(at), localtime(at).strftime("%H:%M:%S" if seconds < 60 else "%H:%M")))
    labels = revision_labels or {}
    previous_revision = None
    for s in samples:
        # The first template the mirror knows is not a change of template: no mark from "" to it.
        if previous_revision and s.revision != previous_revision:
            label = labels.get(s.revision, s.revision[-10:])
            chart.marks.append(ChartMark(x(s.at), label, _("template %(r)s from %(t)s") % {"r": label, "t": s.at}))
        previous_revision = s.revision
    last = samples[-1]
    chart.summary = _(
        "From %(start)s to %(end)s. Now %(new)d Pods of the new template and %(old)d of older ones are ready, "
        "of %(d)d desired; the template changed %(m)d times."
    ) % {
        "start": localtime(start).strftime("%H:%M:%S"),
        "end": localtime(end).strftime("%H:%M:%S"),
        "new": last.new_ready,
        "old": max(0, last.ready - last.new_ready),
        "d": last.desired,
        "m": len(chart.marks),
    }
    return chart
