"""The Pods tables' rows (``<tr id="pod-<uid>" class="pod-row">``), written from the mirrored columns alone.

A live frame of a page with 1,000 Pods renders every row again to find the few that changed
(``workloads.live.diff``). As a template partial a row cost ~0.6 ms, most of it the template engine resolving 25
variables, reversing the Pod's URL and translating the age's units; here it is a string of escaped columns, the URL
is reversed once per table, and the age's units and the title's local time are looked up once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote

from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from workloads.browse import presenters

_URL_SAFE = "!$&'()*+,;=/~:@"  # what Django's reverse() leaves unquoted in a URL
_NS, _NAME = "\x01", "\x02"


class PodLinks:
    """The Pod page's URL for each (namespace, name) of one cluster, from one reverse()."""

    def __init__(self, cluster_name: str) -> None:
        self.cluster_name = cluster_name
        shape = reverse("workloads:pod", args=[cluster_name, _NS, _NAME])
        self.before, rest = shape.split(quote(_NS), 1)
        self.between, self.after = rest.split(quote(_NAME), 1)

    def url(self, namespace: str, name: str) -> str:
        if "/" in namespace or "/" in name:  # no Kubernetes name has one; reverse() says so
            return reverse("workloads:pod", args=[self.cluster_name, namespace, name])
        return f"{self.before}{quote(namespace, safe=_URL_SAFE)}{self.between}{quote(name, safe=_URL_SAFE)}{self.after}"


@functools.lru_cache(maxsize=20_000)
def _local_time(value: datetime, language: str | None, zone: str) -> str:
    """The title a template gives a datetime (``{{ value }}``): local time, in the language's format."""
    return formats.localize(timezone.template_localtime(value))


def age_element(value: datetime | None, now: datetime) -> str:
    """The age as a ``<time data-age>`` that the page keeps counting (static/podium/ages.js): a row's HTML stays the
    same while only time passes, so a live frame need not carry it. Escaped; "–" without a time."""
    if value is None:
        return "–"
    shown = escape(presenters.age(value, now))
    return f'<time datetime="{value.isoformat(timespec="milliseconds")}" data-age>{shown}</time>'


def render(pods: Iterable[object], cluster_name: str, show_namespace: bool = False) -> SafeString:
    """Every Pod's row, as ``templates/workloads/_pod_rows.html`` shows them (every value from the cluster escaped)."""
    links = PodLinks(cluster_name)
    now = timezone.now()
    language, zone = translation.get_language(), timezone.get_current_timezone_name()
    out: list[str] = []
    for p in pods:
        state = presenters.pod_state(p.phase, p.ready, p.status_text)
        namespace = f" <small>{escape(p.namespace)}</small>" if show_namespace else ""
        created = "" if p.created_at is None else escape(_local_time(p.created_at, language, zone))
        out.append(
            f'<tr id="pod-{escape(p.uid)}" class="pod-row{" deleted" if p.deleted_at else ""}">\n'
            f'  <td><span class="dot dot-{state}" aria-hidden="true"></span>'
            f'<a href="{escape(links.url(p.namespace, p.name))}" class="mono">{escape(p.name)}</a>{namespace}</td>\n'
            f'  <td class="num">{int(p.ready_containers)}/{int(p.total_containers)}</td>\n'
            f'  <td><span class="pstate pstate-{state}">{escape(p.status_text or p.phase or "?")}</span></td>\n'
            f'  <td class="num">{int(p.restarts)}</td>\n'
            f'  <td class="num" title="{created}">{age_element(p.created_at, now)}</td>\n'
            f'  <td class="optional mono">{escape(p.node_name or "–")}</td>\n'
            f'  <td class="optional mono">{escape(p.pod_ip or "–")}</td>\n'
            "</tr>"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value from the cluster is escaped above
