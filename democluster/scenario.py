"""The demo cluster a newcomer sees: every kind, the Kubernetes docs' examples, and a stuck rollout.

The objects are data, in scenario.yaml; each is created as a manifest through ``store.create`` (so API
defaulting applies), and the controllers and the kubelet do the rest. The stuck rollout is the one part
that needs time: its first revision is created healthy, and its template is switched to a bad image once
that revision is available (see ``break_rollout``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from democluster.config import SimConfig
from democluster.resources import DEPLOYMENTS, Resource, by_kind
from democluster.store import Obj, Store, clone

SCENARIO = Path(__file__).with_name("scenario.yaml")
STUCK = ("shop", "checkout")
STUCK_IMAGE = "ghcr.io/podium-demo/checkout:v2-typo"


def manifests(path: Path = SCENARIO) -> list[tuple[Resource, Obj]]:
    """The scenario's objects in order, each with the resource its kind names."""
    with path.open(encoding="utf-8") as f:
        return [(by_kind(doc["kind"]), doc) for doc in yaml.safe_load_all(f) if doc]


def load_default(store: Store, config: SimConfig) -> None:
    """Create the demo objects (skipping any that exist), and schedule the stuck rollout's second revision."""
    for res, obj in manifests():
        m = obj["metadata"]
        if store.try_get(res, m.get("namespace"), m["name"]) is None:
            store.create(res, obj)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.create_task(break_rollout(store))


async def break_rollout(store: Store, timeout: float = 600.0) -> None:
    """Once checkout's first revision is available, roll it to an image that cannot be pulled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        d = store.try_get(DEPLOYMENTS, *STUCK)
        if d is None:
            return
        containers = d["spec"]["template"]["spec"]["containers"]
        if containers[0]["image"] == STUCK_IMAGE:
            return
        if (d.get("status") or {}).get("availableReplicas", 0) >= d["spec"].get("replicas", 1):
            new = clone(d)
            new["spec"]["template"]["spec"]["containers"][0]["image"] = STUCK_IMAGE
            store.update(DEPLOYMENTS, new)
            return
        await asyncio.sleep(0.2)
