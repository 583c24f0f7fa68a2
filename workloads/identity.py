"""Who Podium acts as on a cluster: the signed-in person, sent as ``Impersonate-User``/``Impersonate-Group``.

``identity_for(user)`` says who a Django user is to Kubernetes: their username and their groups (the provider's
groups claim for a person signed in with OpenID Connect, the Django groups' names otherwise), each with
``PODIUM_IMPERSONATE_GROUP_PREFIX``. Names Kubernetes reserves (``system:...``) are never sent: a Podium user
cannot become a service account, a node or ``system:masters`` however they are named.

``ActingPersonMiddleware`` remembers the signed-in person for the request, so that every write, dry run and
access check made through ``workloads.clusters.connect`` carries their identity; the sync never does
and keeps Podium's own. Headers the browser sends (a forged ``Impersonate-User``) are never forwarded: only
this module's identity is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

RESERVED_PREFIX = "system:"


@dataclass(frozen=True)
class Identity:
    username: str
    groups: tuple[str, ...]

    def describe(self) -> str:
        """``alice (groups: dev, qa)``: how pages and the audit trail name who the cluster saw."""
        groups = ", ".join(self.groups) if self.groups else _("none")
        return _("%(user)s (groups: %(groups)s)") % {"user": self.username, "groups": groups}

    def headers(self) -> list[tuple[str, str]]:
        """One ``Impersonate-Group`` header per group: the API server reads each header as one group."""
        return [("Impersonate-User", self.username)] + [("Impersonate-Group", g) for g in self.groups]


class NoIdentity(Exception):
    """Nobody to act as: the person has no username Kubernetes accepts, or no one is signed in."""


def identity_for(user: Any) -> tuple[str, list[str]]:
    """``(username, groups)`` as Kubernetes will see them; groups sorted, prefixed, reserved names left out.

    A person who signs in with OpenID Connect is sent with their provider's groups (its groups claim, as
    kube-apiserver's own OIDC sign-in would name them), not Podium's roles; anyone else with their Django groups."""
    prefix = settings.PODIUM_IMPERSONATE_GROUP_PREFIX
    oidc = getattr(user, "oidc_identity", None) if user.pk else None
    if oidc is not None:
        names = sorted({str(g) for g in oidc.groups})
    else:
        names = sorted(user.groups.values_list("name", flat=True)) if user.pk else []
    groups = [prefix + name for name in names if not (prefix + name).startswith(RESERVED_PREFIX)]
    return user.get_username(), groups


def person(user: Any) -> Identity:
    if user is None or not user.is_authenticated:
        raise NoIdentity(_("Nobody is signed in, so Podium has no one to act as on this cluster."))
    username, groups = identity_for(user)
    if not username or username.startswith(RESERVED_PREFIX):
        raise NoIdentity(
            _("Podium does not act as %(user)s: names starting with system: belong to Kubernetes.") % {"user": username}
        )
    return Identity(username, tuple(groups))


_acting: ContextVar[Any] = ContextVar("podium_acting_user", default=None)


class _UserOf:
    """The request whose user Podium acts as, not its lazy ``request.user`` itself: asgiref copies context
    variables between threads and checks each value with ``isinstance``, which would load a lazy user from the
    database inside the event loop (SynchronousOnlyOperation, and the response never comes)."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequest) -> None:
        self.request = request


def current_user() -> Any:
    """The signed-in user of the request being served (None in the sync, Celery tasks and commands)."""
    value = _acting.get()
    if type(value) is _UserOf:
        return getattr(value.request, "user", None)
    return value


@contextmanager
def acting_user(user: Any) -> Iterator[None]:
    token = _acting.set(user)
    try:
        yield
    finally:
        _acting.reset(token)


class ActingPersonMiddleware:
    """After authentication: the signed-in user becomes the one Podium acts as for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_user(_UserOf(request)):
            return self.get_response(request)
