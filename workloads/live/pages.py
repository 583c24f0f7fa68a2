"""What a live page follows, and the fragments the live consumer re-renders for it.

A page that follows the cluster renders ``templates/workloads/_live.html``: a hidden element with
``hx-ext="ws,podium-frames" ws-connect="/ws/live/?sub=<group>&sub=<group>&page=<the page's path and query>"``.
``sub`` names the groups the page shows (see ``workloads.live``); ``page`` is the page itself, so the
consumer can rebuild the page's context with the same view-side functions and render the same
named partials, each sent as an out-of-band swap keyed by its ``id``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urlsplit

from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, QueryDict
from django.template.loader import render_to_string
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils import translation
from django.utils.translation import gettext as _

from workloads import identity
from workloads.browse import lookups
from workloads.browse import related as views_related
from workloads.browse import views as views_browse
from workloads.live.subscriptions import Refused
from workloads.models import Cluster

MAX_PAGE_LENGTH = 2000

LIST_PARTIALS = [
    "workloads/_cluster_banner.html",
    "workloads/workload_list.html#workload-table",
    "workloads/workload_list.html#bare-pods",
]
# For each live view (by URL name): the fragments a change re-renders. Each renders one element with a stable id.
PARTIALS: dict[str, list[str]] = {
    "overview": ["workloads/overview.html#overview-body"],
    "cluster_workloads": LIST_PARTIALS,
    "namespace": LIST_PARTIALS,
    "workload": [
        "workloads/_cluster_banner.html",
        "workloads/workload_detail.html#workload-header",
        "workloads/rollout/panel.html#rollout-panel",
        "workloads/rollout/panel.html#rollout-actions",
        "workloads/workload_detail.html#workload-around",
        "workloads/workload_detail.html#workload-tree",
        "workloads/workload_detail.html#workload-conditions",
        "workloads/workload_detail.html#workload-pods",
        "workloads/workload_detail.html#workload-template",
        "workloads/workload_detail.html#workload-events",
    ],
    "pod": [
        "workloads/_cluster_banner.html",
        "workloads/pod_detail.html#pod-card",
        "workloads/pod_detail.html#pod-containers",
        "workloads/pod_detail.html#pod-conditions",
        "workloads/pod_detail.html#pod-events",
    ],
    "service": ["workloads/_cluster_banner.html", "workloads/related/service_detail.html#service-live"],
    "configmap": ["workloads/_cluster_banner.html", "workloads/related/config_detail.html#config-live"],
    "secret": ["workloads/_cluster_banner.html", "workloads/related/config_detail.html#config-live"],
}
# Lists show no Events: a batch of nothing but Events does not change them.
LIST_VIEWS = {"overview", "cluster_workloads", "namespace"}
# Nor do the pages of a Service, ConfigMap or Secret, which follow their namespace.
EVENTLESS_VIEWS = LIST_VIEWS | {"service", "configmap", "secret"}

log = logging.getLogger(__name__)

_FIRST_TAG = re.compile(r"\s*<([a-zA-Z][\w-]*)([^>]*)>")
_ID = re.compile(r'\bid="([^"]+)"')


@dataclass(frozen=True)
class LivePage:
    match: ResolverMatch
    path: str
    params: QueryDict

    @property
    def view(self) -> str:
        return self.match.url_name


def page_request(scope: dict, page: str = "/", query: str = "") -> HttpRequest:
    """A GET of the page as Django builds it from an ASGI scope: the socket's headers and cookies, the page's path
    and query (so that ``request.path`` and the language read from it are the page's)."""
    return ASGIRequest({**scope, "type": "http", "method": "GET", "path": page, "query_string": query}, BytesIO())


def language_of(scope: dict) -> str:
    """The language the page was rendered in, as Django's LocaleMiddleware chose it: the switcher's cookie, else the
    browser's Accept-Language (the socket's handshake carries both), so that live swaps speak the page's language."""
    return translation.get_language_from_request(page_request(scope))


def resolve_page(page: str) -> LivePage:
    """The live view a page URL names, and its query; anything else is refused."""
    if len(page) > MAX_PAGE_LENGTH:
        raise Refused("page URL too long")
    parts = urlsplit(page)
    if parts.scheme or parts.netloc:
        raise Refused("page must be a path")
    try:
        match = resolve(parts.path or "/")
    except Resolver404:
        raise Refused(f"no page at {parts.path[:120]!r}") from None
    if match.namespace != "workloads" or match.url_name not in PARTIALS:
        raise Refused(f"{parts.path[:120]!r} is not a live page")
    return LivePage(match, parts.path or "/", QueryDict(parts.query))


def page_context(view: str, kwargs: dict, params: QueryDict) -> dict:
    """The context of a live page, from its URL name, URL kwargs and query, built by the page's own view module."""
    if view == "overview":
        return views_browse.overview_context()
    c = lookups.cluster_or_404(kwargs["cluster"])
    if view == "cluster_workloads":
        return views_browse.list_context(c, params.get("namespace", ""), params, namespace_page=False)
    if view == "namespace":
        return views_browse.namespace_context(c, kwargs["namespace"], params)
    if view == "workload":
        return views_browse.workload_context(c, kwargs["namespace"], kwargs["kind"], kwargs["name"], params)
    if view == "pod":
        return views_browse.pod_context(c, kwargs["namespace"], kwargs["name"])
    if view == "service":
        return views_related.service_context(c, kwargs["namespace"], kwargs["name"])
    if view in views_related.SLUGS:
        return views_related.config_context(c, kwargs["namespace"], views_related.SLUGS[view], kwargs["name"])
    raise Http404(_("Not a live page"))


def render_fragments(page: LivePage, user: AbstractBaseUser | AnonymousUser) -> dict[str, str]:
    """Render the page's live partials from the mirror: ``{element id: HTML with hx-swap-oob}``."""
    try:
        with identity.acting_user(user):  # the namespaces this person may see, when a cluster acts as them
            context = page_context(page.view, page.match.kwargs, page.params)
    except Http404 as exc:
        raise Refused(str(exc) or "not found") from None
    request = page_request({}, page.path, page.params.urlencode())
    request.user = user
    request.resolver_match = page.match
    context |= {"request": request, "user": user, "perms": PermWrapper(user)}
    fragments: dict[str, str] = {}
    for name in PARTIALS[page.view]:
        with identity.acting_user(user):  # what the person may do and see, as on the page itself
            html = render_to_string(name, context).strip()
        if not html:
            continue
        try:
            element_id, html = out_of_band(html)
        except ValueError:
            # One broken fragment must not take the page's live updates down with it.
            log.exception("live fragment %s has no id on its root element", name)
            continue
        fragments[element_id] = html
    return fragments


def out_of_band(html: str) -> tuple[str, str]:
    """Mark a fragment's root element as an out-of-band swap; return its id and the marked HTML."""
    m = _FIRST_TAG.match(html)
    found = _ID.search(m[2]) if m else None
    if not found:
        raise ValueError(f"a live fragment needs an id on its root element: {html[:80]!r}")
    return found[1], f'<{m[1]} hx-swap-oob="true"{m[2]}>{html[m.end() :]}'


def permissions_key(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """Two users with the same permissions see the same fragments, unless a cluster acts as each person: then
    the cluster's RBAC decides what each sees and may do, and only the same person shares a render."""
    key = frozenset(user.get_all_permissions())
    if user.is_authenticated and Cluster.objects.impersonating().exists():
        username, groups = identity.identity_for(user)
        key |= {f"identity:{username}", *(f"group:{g}" for g in groups)}
    return key
