"""Announcing committed mirror changes to the groups that pages subscribe to.

Group names: ``ns.<cluster id>.<namespace>`` (a namespace's lists), ``all.<cluster id>`` (every namespace
of a cluster: the overview and the all-namespaces lists, however many namespaces there are),
``wl.<cluster id>.<uid>`` (one workload page), ``pod.<cluster id>.<uid>`` (one Pod page),
``cluster.<cluster id>`` (cluster status, and a whole list). One message per group per batch: a batch is the
coalescing unit; a full list is one message to the cluster's group.
"""

from __future__ import annotations

import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from workloads.sync.ingest import Changed

log = logging.getLogger(__name__)


def namespace_group(cluster_id: int, namespace: str) -> str:
    return f"ns.{cluster_id}.{namespace}"[:99]


def all_namespaces_group(cluster_id: int) -> str:
    return f"all.{cluster_id}"


def workload_group(cluster_id: int, uid: str) -> str:
    return f"wl.{cluster_id}.{uid}"


def pod_group(cluster_id: int, uid: str) -> str:
    return f"pod.{cluster_id}.{uid}"


def cluster_group(cluster_id: int) -> str:
    return f"cluster.{cluster_id}"


def messages_for(cluster_id: int, changed: Changed) -> dict[str, dict]:
    """One message per group; all carry the same ``change`` id, so that consumers can tell they are one change."""
    change = uuid.uuid4().hex
    messages: dict[str, dict] = {}
    for ns in changed.namespaces:
        messages[namespace_group(cluster_id, ns)] = {
            "type": "mirror.changed",
            "change": change,
            "cluster": cluster_id,
            "namespace": ns,
            "kinds": sorted(changed.kinds),
        }
    if changed.namespaces:
        messages[all_namespaces_group(cluster_id)] = {
            "type": "mirror.changed",
            "change": change,
            "cluster": cluster_id,
            "namespaces": sorted(changed.namespaces)[:100],
            "kinds": sorted(changed.kinds),
        }
    for uid in changed.workload_uids:
        messages[workload_group(cluster_id, uid)] = {
            "type": "mirror.changed",
            "change": change,
            "cluster": cluster_id,
            "workload": uid,
        }
    for uid in changed.pod_uids:
        messages[pod_group(cluster_id, uid)] = {
            "type": "mirror.changed",
            "change": change,
            "cluster": cluster_id,
            "pod": uid,
        }
    return messages


def publish(cluster_id: int, changed: Changed) -> None:
    """Send one message per affected group. Failures are logged: the page re-fetches on reconnect."""
    layer = get_channel_layer()
    if layer is None or not changed:
        return
    try:
        async_to_sync(_send_all)(layer, messages_for(cluster_id, changed))
    except Exception:
        log.exception("publishing mirror changes failed")


def publish_relisted(cluster_id: int, changed: Changed) -> None:
    """After a full list: one message to the cluster's group, which every page of the cluster follows,
    rather than one per object listed (a relist of 10k Pods would be 10k messages nobody reads)."""
    layer = get_channel_layer()
    if layer is None or not changed:
        return
    message = {
        "type": "mirror.changed",
        "change": uuid.uuid4().hex,
        "cluster": cluster_id,
        "kinds": sorted(changed.kinds),
        "relisted": True,
    }
    try:
        async_to_sync(layer.group_send)(cluster_group(cluster_id), message)
    except Exception:
        log.exception("publishing a relist failed")


def publish_cluster_status(cluster_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            cluster_group(cluster_id), {"type": "cluster.status", "change": uuid.uuid4().hex, "cluster": cluster_id}
        )
    except Exception:
        log.exception("publishing cluster status failed")


async def _send_all(layer: object, messages: dict[str, dict]) -> None:
    for group, message in messages.items():
        await layer.group_send(group, message)
