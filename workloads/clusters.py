"""Talking to a cluster as Podium or as the signed-in person: the one place a person's API client is made.

Every read on a person's behalf (access reviews) and every write (``edits.apply``) goes through ``connect``, so a
disabled cluster is never sent anything and an impersonating cluster always hears who acts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from workloads import identity, kube
from workloads.identity import Identity
from workloads.models import Cluster


class ClusterDisabled(kube.Forbidden):
    """Podium reads a disabled cluster's mirror (its history stays) but sends it nothing."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(
            _("Cluster %(name)s is disabled: Podium changes nothing in it until an admin enables it again.")
            % {"name": cluster.name}
        )
        self.cluster = cluster


def check_enabled(cluster: Cluster) -> None:
    """Raises ClusterDisabled; the Cluster row is read again (an admin may have disabled it a moment ago)."""
    if not Cluster.objects.filter(pk=cluster.pk, enabled=True).exists():
        raise ClusterDisabled(cluster)


def acting_as(cluster: Cluster) -> Identity | None:
    """Whom the cluster is told acts: the signed-in person when the cluster impersonates, else Podium itself."""
    if not cluster.impersonates:
        return None
    try:
        return identity.person(identity.current_user())
    except identity.NoIdentity as exc:
        raise kube.Forbidden(str(exc)) from exc


@contextmanager
def connect(cluster: Cluster) -> Iterator[Any]:
    check_enabled(cluster)
    person = acting_as(cluster)
    # A person waits for every request made here: one short deadline each, never the sync layer's long ones.
    api = kube.api_client_for(
        kube.config_for_cluster(cluster),
        deadline=settings.PODIUM_KUBE_REQUEST_TIMEOUT,
        impersonate=person.headers() if person else None,
    )
    try:
        yield api
    finally:
        api.close()
