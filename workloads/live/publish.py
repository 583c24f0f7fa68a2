"""Announcing committed mirror changes to the groups that pages subscribe to.

Group names: ``ns.<cluster id>.<namespace>`` (a namespace's lists), ``all.<cluster id>`` (every namespace
of a cluster: the overview and the all-namespaces lists, however many namespaces there are),
``wl.<cluster id>.<uid>`` (one workload page), ``pod.<cluster id>.<uid>`` (one Pod page),
``cluster.<cluster id>`` (cluster status, and a whole list). One message per group per batch: a batch is the
coalescing unit; a full list is one message to the cluster's group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import redis
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _consistent_hash

log = logging.getLogger(__name__)


@dataclass
class Changed:
    """What a batch touched, for the live layer: namespaces, workloads and Pods by uid."""

    namespaces: set[str] = field(default_factory=set)
    workload_uids: set[str] = field(default_factory=set)
    pod_uids: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.workload_uids or self.pod_uids or self.kinds)

    def merge(self, other: Changed) -> None:
        self.namespaces |= other.namespaces
        self.workload_uids |= other.workload_uids
        self.pod_uids |= other.pod_uids
        self.kinds |= other.kinds


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
        _send(layer, cluster_id, messages_for(cluster_id, changed))
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
        _send(layer, cluster_id, {cluster_group(cluster_id): message})
    except Exception:
        log.exception("publishing a relist failed")


def publish_cluster_status(cluster_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "cluster.status", "change": uuid.uuid4().hex, "cluster": cluster_id}
    try:
        _send(layer, cluster_id, {cluster_group(cluster_id): message})
    except Exception:
        log.exception("publishing cluster status failed")


SEND_TIMEOUT = 5.0  # seconds a publisher waits for Redis before it logs the batch as not announced


def _send(layer: Any, cluster_id: int, messages: dict[str, dict]) -> None:
    """Every message of one cluster, straight from the calling thread when the layer is channels_redis' pub/sub one
    (what its ``group_send`` sends: a PUBLISH to the group's channel on its shard), else through the layer.

    Most groups of a batch have nobody listening (a Pod's own group while nobody has its page open), so a shard
    sent more than one message is first asked which of this cluster's group channels have subscribers (one PUBSUB
    CHANNELS), and only those are serialized and published to, in one pipeline. A page that subscribes between
    the question and the PUBLISH is no worse off than one that subscribes just after a PUBLISH: it reads the
    mirror once it is subscribed."""
    direct = _direct_shards(layer)
    if direct is None:
        _run(_send_all(layer, messages))
        return
    by_shard: dict[int, list[tuple[str, dict]]] = {}
    for group, message in messages.items():
        channel = direct.naming._get_group_channel_name(group)
        by_shard.setdefault(_consistent_hash(channel, len(direct.clients)), []).append((channel, message))
    for index, publishes in by_shard.items():
        client = direct.clients[index]
        if len(publishes) > 1:
            # Every group channel of this cluster ("ns.1.x", "all.1", "wl.1.uid", ...) matches; some of other
            # clusters may too ("ns.10.x"), which only costs their names.
            pattern = f"{_glob_escaped(direct.naming._get_group_channel_name(''))}*.{cluster_id}*"
            heard = set(client.pubsub_channels(pattern))
            publishes = [(channel, message) for channel, message in publishes if channel.encode() in heard]
        if not publishes:
            continue
        pipe = client.pipeline(transaction=False)
        for channel, message in publishes:
            pipe.publish(channel, layer.serialize(message))
        pipe.execute()


@dataclass
class _Direct:
    naming: Any  # a channels_redis RedisPubSubLoopLayer: its group channel names and shards' hosts
    clients: list[redis.Redis]


_direct: dict[int, _Direct | None] = {}
_direct_lock = threading.Lock()


def _direct_shards(layer: Any) -> _Direct | None:
    """Synchronous Redis clients for the shards of channels_redis 4.3's pub/sub layer (pinned in requirements.txt),
    made once per layer; None for another layer or a shard that is not a plain Redis (a Sentinel)."""
    with _direct_lock:
        if id(layer) not in _direct:
            _direct[id(layer)] = _direct_for(layer)
        return _direct[id(layer)]


def _direct_for(layer: Any) -> _Direct | None:
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    naming = RedisPubSubLoopLayer(*layer._args, **layer._kwargs, channel_layer=layer)
    clients = []
    for shard in naming._shards:
        host = dict(shard.host)
        options = {"socket_timeout": SEND_TIMEOUT, "socket_connect_timeout": SEND_TIMEOUT}
        if "master_name" in host:
            return None
        if "address" in host:
            clients.append(redis.Redis.from_url(host.pop("address"), **options, **host))
        else:
            clients.append(redis.Redis(**options, **host))
    return _Direct(naming, clients)


def _glob_escaped(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


# For another layer: one event loop per process, in a thread of its own, for every publish (a loop made for each
# batch, what async_to_sync does outside one, would connect every time).
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a Celery worker forks its children after importing this
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="live-publisher", daemon=True).start()
        loop = _loop
    asyncio.run_coroutine_threadsafe(coroutine, loop).result(SEND_TIMEOUT)


async def _send_all(layer: Any, messages: dict[str, dict]) -> None:
    for group, message in messages.items():
        await layer.group_send(group, message)
