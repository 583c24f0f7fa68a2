"""What a live page may follow: the socket URL a page is given, and the check of every group it asks for.

Views import this to give a page its socket URL; the consumer checks each subscription with it before it joins.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from workloads import access
from workloads.models import Cluster, Namespace, Pod, Workload

SOCKET_PATH = "/ws/live/"
MAX_SUBSCRIPTIONS = 64

_GROUP = re.compile(
    r"(?P<prefix>ns|wl|pod)\.(?P<cluster>\d{1,9})\.(?P<key>[A-Za-z0-9._-]{1,90})|(?:cluster|all)\.(?P<only>\d{1,9})"
)


class Refused(Exception):
    """A subscription or page the socket may not follow."""


def page_url(groups: list[str], page: str) -> str:
    """The socket URL for a page that shows ``groups``."""
    return SOCKET_PATH + "?" + urlencode([("sub", g) for g in groups] + [("page", page)])


def check_subscription(group: str) -> None:
    """Refuse a group that names something the mirror does not know, or a namespace the signed-in person may not
    see (the permission is checked before)."""
    m = _GROUP.fullmatch(group)
    if not m:
        raise Refused(f"not a group name: {group[:120]!r}")
    cluster_id = int(m["cluster"] or m["only"])
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        raise Refused(f"unknown cluster {cluster_id}")
    prefix, key = m["prefix"], m["key"]
    if prefix in ("wl", "pod"):
        if prefix == "wl":
            found = Workload.objects.filter(cluster_id=cluster_id, uid=key).values_list("namespace", "kind").first()
        else:
            found = Pod.objects.filter(cluster_id=cluster_id, uid=key).values_list("namespace").first()
        # Also the kinds the person may list there, when the cluster acts as them.
        if found is None or not access.may_list(cluster, found[0], found[1] if prefix == "wl" else "Pod"):
            raise Refused(f"no {'workload' if prefix == 'wl' else 'Pod'} {key} in cluster {cluster_id}")
    if prefix == "ns" and not access.may_see(cluster, key):
        raise Refused(f"no namespace {key} in cluster {cluster_id}")
    if prefix == "ns" and not (
        Namespace.objects.filter(cluster_id=cluster_id, name=key).exists()
        or Workload.objects.filter(cluster_id=cluster_id, namespace=key).exists()
        or Pod.objects.filter(cluster_id=cluster_id, namespace=key).exists()
    ):
        raise Refused(f"no namespace {key} in cluster {cluster_id}")
