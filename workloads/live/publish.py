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

from channels.layers import get_channel_layer

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
        _run(_send_all(layer, messages_for(cluster_id, changed)))
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
        _run(_send_all(layer, {cluster_group(cluster_id): message}))
    except Exception:
        log.exception("publishing a relist failed")


def publish_cluster_status(cluster_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "cluster.status", "change": uuid.uuid4().hex, "cluster": cluster_id}
    try:
        _run(_send_all(layer, {cluster_group(cluster_id): message}))
    except Exception:
        log.exception("publishing cluster status failed")


SEND_TIMEOUT = 5.0  # seconds a publisher waits for Redis before it logs the batch as not announced

# One event loop per process, in a thread of its own, for every publish: the channel layer keeps one connection per
# loop, so a loop made for each batch (what async_to_sync does outside one) would connect to Redis every time.
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
    """Every message in one round trip to Redis when the layer is the pub/sub one (a pipeline of PUBLISH per
    shard, as its ``group_send`` would send them one by one); otherwise one ``group_send`` each.

    Most groups of a batch have nobody listening (a Pod's own group, while nobody has its page open): each shard
    is first asked which of its channels have subscribers (one PUBSUB NUMSUB), and only those are serialized and
    published to. A page that subscribes between the question and the PUBLISH is no worse off than one that
    subscribes just after a PUBLISH: it reads the mirror once it is subscribed."""
    shards = _pubsub_shards(layer, messages)
    if shards is None:
        for group, message in messages.items():
            await layer.group_send(group, message)
        return
    for shard, publishes in shards.values():
        async with shard._lock:
            shard._ensure_redis()
            listened = await shard._redis.pubsub_numsub(*(channel for channel, _ in publishes))
            heard = {_text(channel) for channel, subscribers in listened if subscribers}
            publishes = [(channel, message) for channel, message in publishes if channel in heard]
            if not publishes:
                continue
            pipe = shard._redis.pipeline(transaction=False)
            for channel, message in publishes:
                pipe.publish(channel, layer.serialize(message))
            await pipe.execute()


def _text(channel: bytes | str) -> str:
    return channel.decode() if isinstance(channel, bytes) else channel


def _pubsub_shards(layer: Any, messages: dict[str, dict]) -> dict[int, tuple[Any, list]] | None:
    # channels_redis 4.3's pub/sub layer (pinned in requirements.txt): its group channel names and shards.
    try:
        loop_layer = layer._get_layer()
        shards: dict[int, tuple[Any, list]] = {}
        for group, message in messages.items():
            channel = loop_layer._get_group_channel_name(group)
            shard = loop_layer._get_shard(channel)
            shards.setdefault(id(shard), (shard, []))[1].append((channel, message))
        for shard, _ in shards.values():
            shard._lock, shard._ensure_redis  # noqa: B018 - the parts _send_all uses
    except AttributeError:
        return None
    return shards
