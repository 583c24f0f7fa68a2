"""What the signed-in person may do and see on a cluster that impersonates them, as the cluster's RBAC says.

``may`` asks the API server (a SelfSubjectAccessReview sent as that person) whether an action would be allowed,
and remembers the answer for PODIUM_ACCESS_CACHE_SECONDS, so that pages offer what would work and disable the
rest with the reason ("alice (groups: dev) may not patch deployments/scale in shop"). ``refusal`` says a 403 from
the cluster the same way. ``listable_kinds`` is what the person may list, kind by kind (a SelfSubjectRulesReview
per namespace, remembered as long): a namespace is visible when they may list any kind Podium shows there
(``may_see``), and within it only the kinds they may list (``may_list``; ``not_listed`` says why one is missing).
On a cluster that does not impersonate, Podium's own roles decide alone and everything here allows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from workloads import clusters, identity, kube
from workloads.identity import Identity
from workloads.models import Namespace, Pod, Workload

# The words kube-apiserver uses in every RBAC refusal (checked against the real one in tests/differential/).
_FORBIDDEN = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)" in API group "[^"]*" '
    r'(?:in the namespace "(?P<namespace>[^"]+)"|at the cluster scope)'
)

# Each action a page offers: the request it makes (verb, kind, subresource). "" kind: the workload's own kind.
ACTIONS: dict[str, tuple[str, str, str]] = {
    "edit": ("patch", "", ""),
    "yaml": ("patch", "", ""),
    "scale": ("patch", "", "scale"),
    "pause": ("patch", "", ""),
    "resume": ("patch", "", ""),
    "restart": ("patch", "", ""),
    "undo": ("patch", "", ""),
    "recreate": ("delete", "", ""),
    "delete-pod": ("delete", "Pod", ""),
    "logs": ("get", "Pod", "log"),
}


@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Permission(True)
# How long what a cluster last said a person may see stands in while it does not answer.
LAST_KNOWN_SECONDS = 24 * 3600


def acting_person(cluster: Any) -> Identity | None:
    """The person the cluster is told acts, or None when Podium acts as itself there."""
    if not cluster.impersonates:
        return None
    return identity.person(identity.current_user())


def denial(person: Identity, verb: str, resource: str, namespace: str) -> str:
    where = namespace or _("the whole cluster")
    return _("%(who)s may not %(verb)s %(resource)s in %(namespace)s") % {
        "who": person.describe(),
        "verb": verb,
        "resource": resource,
        "namespace": where,
    }


def _key(cluster: Any, person: Identity, *parts: str) -> str:
    raw = "\0".join([str(cluster.pk), person.username, *person.groups, *parts])
    return "podium:access:" + hashlib.sha256(raw.encode()).hexdigest()


def may(cluster: Any, action: str, *, kind: str, namespace: str, name: str = "") -> Permission:
    """Whether the signed-in person may do ``action`` (a key of ACTIONS) to this object, as the cluster says."""
    verb, action_kind, subresource = ACTIONS[action]
    try:
        person = acting_person(cluster)
    except identity.NoIdentity as exc:
        return Permission(False, str(exc))
    if person is None:
        return ALLOWED
    k = kube.kind_for(action_kind or kind)
    key = _key(cluster, person, verb, k.group, k.plural, subresource, namespace, name)
    cached = cache.get(key)
    if cached is not None:
        return Permission(*cached)
    if cluster.status == cluster.Status.UNREACHABLE:
        return ALLOWED  # asking would wait for a server that does not answer; submitting says what it answers
    try:
        with clusters.connect(cluster) as api:
            allowed, _reason = kube.access_review(
                api, verb=verb, group=k.group, resource=k.plural, subresource=subresource, namespace=namespace,
                name=name,
            )  # fmt: skip
    except kube.KubeError:
        # Not known (the cluster does not answer): offer it; submitting says what the cluster answers.
        allowed = True
    resource = f"{k.plural}/{subresource}" if subresource else k.plural
    answer = Permission(allowed, "" if allowed else denial(person, verb, resource, namespace))
    cache.set(key, (answer.allowed, answer.reason), settings.PODIUM_ACCESS_CACHE_SECONDS)
    return answer


def refusal(cluster: Any, exc: kube.KubeError) -> str:
    """A 403 from the cluster in the pages' words when it refused the person Podium acted as; else ""."""
    if not isinstance(exc, kube.Forbidden):
        return ""
    try:
        person = acting_person(cluster)
    except identity.NoIdentity:
        return ""
    found = _FORBIDDEN.search(exc.message or "")
    if person is None or found is None or found["user"] != person.username:
        return ""
    return denial(person, found["verb"], found["resource"], found["namespace"] or "")


def _lists(rules: list[dict[str, Any]], group: str, plural: str) -> bool:
    for rule in rules:
        if not ({"list", "*"} & set(rule.get("verbs") or [])):
            continue
        if not ({group, "*"} & set(rule.get("apiGroups") or [])):
            continue
        if {plural, "*"} & set(rule.get("resources") or []) and not rule.get("resourceNames"):
            return True
    return False


def listable_kinds(cluster: Any, namespaces: list[str]) -> dict[str, set[str]] | None:
    """Of ``namespaces``, the kinds Podium shows that the person may list in each (a SelfSubjectRulesReview per
    namespace, remembered PODIUM_ACCESS_CACHE_SECONDS); None: every kind everywhere, as Podium acts as itself there.
    A person who cannot be named may list nothing."""
    try:
        person = acting_person(cluster)
    except identity.NoIdentity:
        return {}
    if person is None:
        return None
    key = _key(cluster, person, "kinds", *sorted(namespaces))
    cached = cache.get(key)
    if cached is not None:
        return {namespace: set(kinds) for namespace, kinds in cached.items()}
    if cluster.status == cluster.Status.UNREACHABLE:
        return {namespace: set(kinds) for namespace, kinds in cache.get(key + ":last", {}).items()}
    shown = [k for k in kube.KINDS.values() if k.namespaced]
    listed: dict[str, list[str]] = {}
    try:
        with clusters.connect(cluster) as api:
            for namespace in namespaces:
                rules = kube.rules_review(api, namespace=namespace)
                if kinds := sorted(k.name for k in shown if _lists(rules, k.group, k.plural)):
                    listed[namespace] = kinds
    except kube.KubeError:
        # Not known now (the cluster does not answer): what it last said, or nothing rather than too much.
        return {namespace: set(kinds) for namespace, kinds in cache.get(key + ":last", {}).items()}
    cache.set(key, listed, settings.PODIUM_ACCESS_CACHE_SECONDS)
    cache.set(key + ":last", listed, LAST_KNOWN_SECONDS)
    return {namespace: set(kinds) for namespace, kinds in listed.items()}


def visible_namespaces(cluster: Any, namespaces: list[str]) -> set[str] | None:
    """Of ``namespaces``, those where the person may list at least one kind Podium shows (None: every one)."""
    kinds = listable_kinds(cluster, namespaces)
    return None if kinds is None else set(kinds)


def _mirrored_namespaces(cluster: Any) -> list[str]:
    names = set(Namespace.objects.live().filter(cluster=cluster).values_list("name", flat=True))
    names |= set(Workload.objects.filter(cluster=cluster).values_list("namespace", flat=True).distinct())
    names |= set(Pod.objects.filter(cluster=cluster).values_list("namespace", flat=True).distinct())
    return sorted(names)


def kinds_shown(cluster: Any) -> dict[str, set[str]] | None:
    """Per namespace of ``cluster``'s mirror, the kinds the signed-in person may list (None: all of them)."""
    if not cluster.impersonates:
        return None
    return listable_kinds(cluster, _mirrored_namespaces(cluster))


def may_list(cluster: Any, namespace: str, kind: str) -> bool:
    shown = kinds_shown(cluster)
    return shown is None or kind in shown.get(namespace, set())


def none_listed(cluster: Any, namespace: str, kinds: list[str]) -> str:
    """Why the person sees none of ``kinds`` in ``namespace`` ("... may not list services, secrets in shop")."""
    hidden = [kind for kind in kinds if not may_list(cluster, namespace, kind)]
    if not hidden:
        return ""
    try:
        person = acting_person(cluster)
    except identity.NoIdentity as exc:
        return str(exc)
    plurals = ", ".join(kube.kind_for(kind).plural for kind in hidden)
    return denial(person, "list", plurals, namespace) if person else ""


def not_listed(cluster: Any, namespace: str, kind: str) -> str:
    """Why the person sees no ``kind`` in ``namespace`` although they see the namespace; "" when they may list it."""
    if may_list(cluster, namespace, kind):
        return ""
    try:
        person = acting_person(cluster)
    except identity.NoIdentity as exc:
        return str(exc)
    return denial(person, "list", kube.kind_for(kind).plural, namespace) if person else ""


def namespaces_shown(cluster: Any) -> set[str] | None:
    """The namespaces of ``cluster``'s mirror the signed-in person may see (None: all of them)."""
    shown = kinds_shown(cluster)
    return None if shown is None else set(shown)


def may_see(cluster: Any, namespace: str) -> bool:
    shown = namespaces_shown(cluster)
    return shown is None or namespace in shown


def why_nothing(cluster: Any) -> str:
    """Why a person sees no namespace of a cluster that acts as them: no groups, or no Role."""
    try:
        person = acting_person(cluster)
    except identity.NoIdentity as exc:
        return str(exc)
    if person is None:
        return ""
    if not person.groups:
        return _(
            "%(user)s is in no group, so the cluster %(cluster)s shows them nothing: ask an admin to add you to a "
            "group that a RoleBinding in the cluster names."
        ) % {"user": person.username, "cluster": cluster.name}
    return _("The cluster %(cluster)s lets %(who)s list nothing in any namespace.") % {
        "cluster": cluster.name,
        "who": person.describe(),
    }
