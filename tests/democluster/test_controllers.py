"""The controllers and the simulated kubelet, in-process against a Store in fast time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import kubernetes_validate
import pytest
from kubernetes import client

from democluster import admission, controllers, scale, scenario
from democluster.config import SimConfig
from democluster.controllers.base import Context, get_condition, pod_is_ready
from democluster.controllers.kubelet import CRASH_ANNOTATION
from democluster.cron import CronError, Schedule
from democluster.resources import (
    CONFIGMAPS,
    CONTROLLERREVISIONS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    EVENTS,
    JOBS,
    NODES,
    PODS,
    REPLICASETS,
    RESOURCES,
    SECRETS,
    STATEFULSETS,
    Resource,
)
from democluster.store import Obj, Store, clone


class Cluster:
    def __init__(self, store: Store, ctx: Context, tasks: list[asyncio.Task]) -> None:
        self.store = store
        self.ctx = ctx
        self.tasks = tasks

    async def wait(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = condition()
            if result:
                return result
            if loop.time() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
            await asyncio.sleep(0.02)

    def get(self, res: Resource, name: str, namespace: str = "default") -> Obj:
        return self.store.get(res, namespace, name)

    def pods(self, namespace: str = "default", **labels: str) -> list[Obj]:
        return [
            p
            for p in self.store.list(PODS, namespace)
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
        ]

    def owned(self, owner: Obj, res: Resource) -> list[Obj]:
        return self.ctx.index.owned(owner["metadata"]["uid"], res)

    def change(self, res: Resource, name: str, edit: Callable[[Obj], None], namespace: str = "default") -> Obj:
        new = clone(self.get(res, name, namespace))
        edit(new)
        return self.store.update(res, new)

    def events(self, name: str, reason: str | None = None) -> list[Obj]:
        return [
            e
            for e in self.store.list(EVENTS)
            if e["involvedObject"]["name"] == name and (reason is None or e["reason"] == reason)
        ]


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    store = Store()
    admission.register(store)
    config = SimConfig(nodes=3, time_scale=0.02, tick=0.01)
    ctx = controllers.build(store, config)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(c.run()) for c in ctx.controllers.values()]
    tasks.append(loop.create_task(ctx.kubelet.run()))
    yield Cluster(store, ctx, tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for uid_tasks in list(ctx.kubelet.lifecycles.values()) + list(ctx.kubelet.terminations.values()):
        uid_tasks.cancel()
    store.listeners.clear()


def deployment(name: str, replicas: int = 3, image: str = "nginx:1.25.3", **spec: Any) -> Obj:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": image}]}},
            **spec,
        },
    }


def rollout_done(c: Cluster, name: str) -> bool:
    """What ``kubectl rollout status`` checks."""
    d = c.get(DEPLOYMENTS, name)
    status, want = d.get("status") or {}, d["spec"]["replicas"]
    return (
        status.get("observedGeneration", 0) >= d["metadata"]["generation"]
        and status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want
    )


def set_image(image: str) -> Callable[[Obj], None]:
    def edit(d: Obj) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return edit


# --- Deployments and ReplicaSets ---------------------------------------------------------------


async def test_it_creates_a_replicaset_whose_pods_become_ready(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("web"))
    await cluster.wait(lambda: rollout_done(cluster, "web"), what="rollout")
    d = cluster.get(DEPLOYMENTS, "web")
    [rs] = cluster.owned(d, REPLICASETS)
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert len(pod_hash) <= 10 and set(pod_hash) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == pod_hash
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert d["metadata"]["generation"] == 1
    assert get_condition(d["status"], "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert get_condition(d["status"], "Available")["status"] == "True"
    pods = cluster.owned(rs, PODS)
    assert len(pods) == 3 and all(pod_is_ready(p) for p in pods)
    assert all(p["metadata"]["name"].startswith(f"{rs['metadata']['name']}-") for p in pods)
    assert cluster.events("web", "ScalingReplicaSet")[0]["message"] == (
        f"Scaled up replica set {rs['metadata']['name']} to 3 from 0"
    )
    pod = pods[0]
    status = pod["status"]["containerStatuses"][0]
    assert status["containerID"].startswith("containerd://") and status["imageID"]
    assert status["ready"] is True and status["restartCount"] == 0 and status["lastState"] == {}
    reasons = [e["reason"] for e in cluster.events(pod["metadata"]["name"])]
    assert {"Scheduled", "Created", "Started"} <= set(reasons)
    assert "Pulling" in reasons or "Pulled" in reasons


async def test_a_status_someone_else_writes_is_put_right_at_once(cluster: Cluster) -> None:
    """A controller's own status writes do not start it again (write_status), but anyone else's do: as in
    Kubernetes, where every update of the object queues it, the wrong counts last only until the next reconcile,
    not until the next change of its Pods."""
    cluster.store.create(DEPLOYMENTS, deployment("web", replicas=2))
    await cluster.wait(lambda: rollout_done(cluster, "web"), what="rollout")
    [rs] = cluster.owned(cluster.get(DEPLOYMENTS, "web"), REPLICASETS)
    for res, name in ((REPLICASETS, rs["metadata"]["name"]), (DEPLOYMENTS, "web")):
        wrong = clone(cluster.get(res, name))
        wrong["status"] |= {"replicas": 7, "readyReplicas": 0, "availableReplicas": 0}
        cluster.store.update(res, wrong, subresource="status")
        assert cluster.get(res, name)["status"]["replicas"] == 7

        def counts(res: Resource = res, name: str = name) -> tuple[int, int]:
            status = cluster.get(res, name)["status"]
            return status.get("replicas", 0), status.get("readyReplicas", 0)

        await cluster.wait(lambda c=counts: c() == (2, 2), timeout=2, what=f"the {res.kind}'s status put right")


async def test_it_keeps_a_rolling_update_within_surge_and_unavailability(cluster: Cluster) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    cluster.store.create(DEPLOYMENTS, deployment("roll", replicas=4, strategy=strategy))
    await cluster.wait(lambda: rollout_done(cluster, "roll"))
    seen_total, seen_ready = [], []

    def watch(type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is PODS:
            live = [p for p in cluster.pods(app="roll") if not p["metadata"].get("deletionTimestamp")]
            seen_total.append(len(live))
            seen_ready.append(sum(1 for p in live if pod_is_ready(p)))

    cluster.store.listeners.append(watch)
    cluster.change(DEPLOYMENTS, "roll", set_image("nginx:1.26.0"))
    await cluster.wait(lambda: rollout_done(cluster, "roll"), timeout=20)
    cluster.store.listeners.remove(watch)
    assert max(seen_total) <= 5
    assert min(seen_ready) >= 3
    d = cluster.get(DEPLOYMENTS, "roll")
    rss = cluster.owned(d, REPLICASETS)
    assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, 4]
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    messages = [e["message"] for e in cluster.events("roll", "ScalingReplicaSet")]
    assert any("Scaled down replica set" in m for m in messages)


async def test_it_readopts_the_old_replicaset_on_undo(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("undo", replicas=2))
    await cluster.wait(lambda: rollout_done(cluster, "undo"))
    first = cluster.get(DEPLOYMENTS, "undo")["spec"]["template"]
    cluster.change(DEPLOYMENTS, "undo", set_image("nginx:1.26.0"))
    await cluster.wait(lambda: rollout_done(cluster, "undo") and len(cluster.pods(app="undo")) == 2, timeout=20)

    # What kubectl rollout undo sends: the old template, creationTimestamp null included.
    def restore(d: Obj) -> None:
        d["spec"]["template"] = {**clone(first), "metadata": {**first["metadata"], "creationTimestamp": None}}

    cluster.change(DEPLOYMENTS, "undo", restore)
    await cluster.wait(lambda: rollout_done(cluster, "undo"), timeout=20)
    d = cluster.get(DEPLOYMENTS, "undo")
    rss = cluster.owned(d, REPLICASETS)
    assert len(rss) == 2
    by_revision = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs for rs in rss}
    assert set(by_revision) == {"2", "3"}
    readopted = by_revision["3"]
    assert readopted["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert readopted["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25.3"
    assert readopted["spec"]["replicas"] == 2
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


async def test_it_only_scales_a_paused_deployment(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("paused", replicas=2))
    await cluster.wait(lambda: rollout_done(cluster, "paused"))

    def pause_and_edit(d: Obj) -> None:
        d["spec"]["paused"] = True
        d["spec"]["replicas"] = 3
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26.0"

    cluster.change(DEPLOYMENTS, "paused", pause_and_edit)
    await cluster.wait(lambda: cluster.get(DEPLOYMENTS, "paused")["status"].get("availableReplicas") == 3)
    d = cluster.get(DEPLOYMENTS, "paused")
    [rs] = cluster.owned(d, REPLICASETS)
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25.3"
    progressing = get_condition(d["status"], "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")

    def resume(d: Obj) -> None:
        d["spec"].pop("paused")

    cluster.change(DEPLOYMENTS, "paused", resume)
    await cluster.wait(lambda: rollout_done(cluster, "paused") and len(cluster.owned(d, REPLICASETS)) == 2, timeout=20)
    await cluster.wait(
        lambda: (
            get_condition(cluster.get(DEPLOYMENTS, "paused")["status"], "Progressing")["reason"]
            == "NewReplicaSetAvailable"
        )
    )


async def test_it_recreates_with_no_overlap(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("recreate", replicas=3, strategy={"type": "Recreate"}))
    await cluster.wait(lambda: rollout_done(cluster, "recreate"))
    overlaps = []

    def watch(type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is PODS:
            images = {p["spec"]["containers"][0]["image"] for p in cluster.pods(app="recreate")}
            overlaps.append(len(images) > 1)

    cluster.store.listeners.append(watch)
    cluster.change(DEPLOYMENTS, "recreate", set_image("nginx:1.26.0"))
    await cluster.wait(lambda: rollout_done(cluster, "recreate"), timeout=20)
    cluster.store.listeners.remove(watch)
    assert not any(overlaps)
    assert {p["spec"]["containers"][0]["image"] for p in cluster.pods(app="recreate")} == {"nginx:1.26.0"}


async def test_it_scales_down_unready_pods_first(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("shrink", replicas=3))
    await cluster.wait(lambda: rollout_done(cluster, "shrink"))
    cluster.change(DEPLOYMENTS, "shrink", lambda d: d["spec"].update(replicas=1))
    await cluster.wait(lambda: len(cluster.pods(app="shrink")) == 1)
    rs = cluster.owned(cluster.get(DEPLOYMENTS, "shrink"), REPLICASETS)[0]
    assert rs["status"]["replicas"] == 1
    assert len(cluster.events(rs["metadata"]["name"], "SuccessfulDelete")) == 2


async def test_it_cleans_up_old_replicasets_beyond_the_history_limit(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("history", replicas=1, revisionHistoryLimit=1))
    for tag in ("1.26.0", "1.27.0", "1.27.1"):
        await cluster.wait(lambda: rollout_done(cluster, "history"), timeout=20)
        cluster.change(DEPLOYMENTS, "history", set_image(f"nginx:{tag}"))
    await cluster.wait(lambda: rollout_done(cluster, "history"), timeout=20)
    await cluster.wait(lambda: len(cluster.owned(cluster.get(DEPLOYMENTS, "history"), REPLICASETS)) == 2)


# --- failures --------------------------------------------------------------------------------


async def test_a_bad_image_stalls_the_rollout_until_the_deadline(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("stuck", replicas=2, progressDeadlineSeconds=2))
    await cluster.wait(lambda: rollout_done(cluster, "stuck"))
    cluster.change(DEPLOYMENTS, "stuck", set_image("nginx:1.99-typo"))

    def deadline_exceeded() -> bool:
        cond = get_condition(cluster.get(DEPLOYMENTS, "stuck")["status"], "Progressing")
        return cond["status"] == "False" and cond["reason"] == "ProgressDeadlineExceeded"

    await cluster.wait(deadline_exceeded, timeout=15)
    d = cluster.get(DEPLOYMENTS, "stuck")
    assert d["status"]["availableReplicas"] >= 1
    bad = [p for p in cluster.pods(app="stuck") if p["spec"]["containers"][0]["image"] == "nginx:1.99-typo"]
    assert bad
    await cluster.wait(
        lambda: any(
            (p["status"]["containerStatuses"][0]["state"].get("waiting") or {}).get("reason") == "ImagePullBackOff"
            for p in cluster.pods(app="stuck")
            if p["spec"]["containers"][0]["image"] == "nginx:1.99-typo"
        )
    )
    name = bad[0]["metadata"]["name"]
    assert cluster.events(name, "Failed") and cluster.events(name, "BackOff")


async def test_a_crashing_container_backs_off(cluster: Cluster) -> None:
    pod = {
        "metadata": {"name": "crasher", "annotations": {CRASH_ANNOTATION: "exit=3"}},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
    }
    cluster.store.create(PODS, pod)

    def crash_looping() -> bool:
        status = cluster.get(PODS, "crasher")["status"].get("containerStatuses") or [{}]
        return status[0].get("restartCount", 0) >= 2

    await cluster.wait(crash_looping, timeout=15)
    status = cluster.get(PODS, "crasher")["status"]
    cs = status["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert status["phase"] == "Running"
    assert cluster.events("crasher", "BackOff")[0]["type"] == "Warning"


def waiting_reason(cluster: Cluster, name: str) -> tuple[str, str] | None:
    statuses = cluster.get(PODS, name).get("status", {}).get("containerStatuses") or [{}]
    waiting = (statuses[0].get("state") or {}).get("waiting") or {}
    return (waiting["reason"], waiting.get("message", "")) if waiting else None


def running(cluster: Cluster, name: str) -> bool:
    statuses = cluster.get(PODS, name).get("status", {}).get("containerStatuses") or [{}]
    return "running" in (statuses[0].get("state") or {})


async def test_a_missing_configmap_or_key_holds_the_container_in_create_container_config_error(
    cluster: Cluster,
) -> None:
    env = [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "GREETING"}}}]
    optional = [{"secretRef": {"name": "tls", "optional": True}}]
    container = {"name": "app", "image": "nginx:1.25.3", "env": env, "envFrom": optional}
    cluster.store.create(PODS, {"metadata": {"name": "reader"}, "spec": {"containers": [container]}})
    await cluster.wait(lambda: (waiting_reason(cluster, "reader") or ("",))[0] == "CreateContainerConfigError")
    assert waiting_reason(cluster, "reader") == ("CreateContainerConfigError", 'configmap "web-config" not found')
    assert cluster.get(PODS, "reader")["status"]["phase"] == "Pending"
    failed = cluster.events("reader", "Failed")
    assert failed and failed[0]["type"] == "Warning"
    assert failed[0]["message"] == 'Error: configmap "web-config" not found'

    # A ConfigMap without the key: the kubelet's next try names the key.
    cluster.store.create(CONFIGMAPS, {"metadata": {"name": "web-config", "namespace": "default"}, "data": {"x": "1"}})
    message = "couldn't find key GREETING in ConfigMap default/web-config"
    await cluster.wait(lambda: waiting_reason(cluster, "reader") == ("CreateContainerConfigError", message), 15)
    cluster.change(CONFIGMAPS, "web-config", lambda cm: cm["data"].update(GREETING="hello"))
    await cluster.wait(lambda: running(cluster, "reader"), timeout=15, what="the container started")


async def test_a_volume_of_a_missing_secret_keeps_the_pod_creating_until_it_exists(cluster: Cluster) -> None:
    container = {"name": "app", "image": "nginx:1.25.3", "volumeMounts": [{"name": "creds", "mountPath": "/c"}]}
    volumes = [{"name": "creds", "secret": {"secretName": "db-creds"}}]
    cluster.store.create(
        PODS, {"metadata": {"name": "mounter"}, "spec": {"containers": [container], "volumes": volumes}}
    )
    await cluster.wait(lambda: cluster.events("mounter", "FailedMount"))
    event = cluster.events("mounter", "FailedMount")[0]
    assert event["type"] == "Warning"
    assert event["message"] == 'MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found'
    assert waiting_reason(cluster, "mounter") == ("ContainerCreating", "")
    cluster.store.create(SECRETS, {"metadata": {"name": "db-creds", "namespace": "default"}, "data": {"pw": "eA=="}})
    await cluster.wait(lambda: running(cluster, "mounter"), timeout=15, what="the container started")


async def test_a_never_ready_container_keeps_the_pod_unready(cluster: Cluster) -> None:
    probe = {"httpGet": {"path": "/never", "port": 80}, "periodSeconds": 1}
    pod = {
        "metadata": {"name": "unready"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25.3", "readinessProbe": probe}]},
    }
    cluster.store.create(PODS, pod)
    await cluster.wait(lambda: cluster.events("unready", "Unhealthy"))
    pod = cluster.get(PODS, "unready")
    assert pod["status"]["phase"] == "Running"
    assert not pod_is_ready(pod)


# --- StatefulSets and DaemonSets ---------------------------------------------------------------


def statefulset(name: str, replicas: int = 3, **spec: Any) -> Obj:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "serviceName": name,
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
            },
            **spec,
        },
    }


async def test_a_statefulset_creates_pods_in_order_and_updates_down_to_the_partition(cluster: Cluster) -> None:
    creation_order = []

    def watch(type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is PODS and type_ == "ADDED":
            creation_order.append(new["metadata"]["name"])

    cluster.store.listeners.append(watch)
    cluster.store.create(STATEFULSETS, statefulset("db"))

    def ready(n: int) -> bool:
        return cluster.get(STATEFULSETS, "db").get("status", {}).get("readyReplicas") == n

    await cluster.wait(lambda: ready(3))
    assert creation_order == ["db-0", "db-1", "db-2"]
    sts = cluster.get(STATEFULSETS, "db")
    [rev] = cluster.owned(sts, CONTROLLERREVISIONS)
    assert rev["revision"] == 1 and rev["data"]["spec"]["template"]["$patch"] == "replace"
    pod = cluster.get(PODS, "db-1")
    assert pod["metadata"]["labels"]["controller-revision-hash"] == rev["metadata"]["name"]
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] == rev["metadata"]["name"]

    def partitioned_update(s: Obj) -> None:
        s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
        s["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:16.3"

    cluster.change(STATEFULSETS, "db", partitioned_update)
    await cluster.wait(lambda: cluster.get(STATEFULSETS, "db")["status"].get("updatedReplicas") == 2 and ready(3), 20)
    images = {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in cluster.pods(app="db")}
    assert images == {"db-0": "postgres:16", "db-1": "postgres:16.3", "db-2": "postgres:16.3"}
    status = cluster.get(STATEFULSETS, "db")["status"]
    assert status["currentRevision"] != status["updateRevision"]

    cluster.change(STATEFULSETS, "db", lambda s: s["spec"].update(replicas=1))
    await cluster.wait(lambda: [p["metadata"]["name"] for p in cluster.pods(app="db")] == ["db-0"], 20)
    cluster.store.listeners.remove(watch)


async def test_a_daemonset_runs_one_pod_per_node(cluster: Cluster) -> None:
    labels = {"app": "agent"}
    ds = {
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "fluent:1"}]}},
        },
    }
    cluster.store.create(DAEMONSETS, ds)

    def settled(image: str) -> bool:
        status = cluster.get(DAEMONSETS, "agent").get("status") or {}
        pods = cluster.pods(app="agent")
        return (
            status.get("numberAvailable") == 3
            and status.get("updatedNumberScheduled") == 3
            and len(pods) == 3
            and all(p["spec"]["containers"][0]["image"] == image for p in pods)
        )

    await cluster.wait(lambda: settled("fluent:1"))
    pods = cluster.pods(app="agent")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-1", "node-2", "node-3"]
    pod = pods[0]
    term = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchFields"][0]["values"] == [pod["spec"]["nodeName"]]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    cluster.change(DAEMONSETS, "agent", set_image("fluent:2"))
    await cluster.wait(lambda: settled("fluent:2"), timeout=20)
    assert cluster.get(DAEMONSETS, "agent")["status"]["desiredNumberScheduled"] == 3


# --- Jobs and CronJobs ---------------------------------------------------------------------------


def job(name: str, command: str = "echo done", **spec: Any) -> Obj:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]}],
                    "restartPolicy": "Never",
                }
            },
            **spec,
        },
    }


async def test_a_job_runs_until_its_completions_succeed(cluster: Cluster) -> None:
    cluster.store.create(JOBS, job("work", completions=3, parallelism=2))

    def complete() -> bool:
        return bool(get_condition(cluster.get(JOBS, "work").get("status"), "Complete"))

    await cluster.wait(complete, timeout=20)
    status = cluster.get(JOBS, "work")["status"]
    assert status["succeeded"] == 3 and "active" not in status and status["completionTime"]
    assert all(p["status"]["phase"] == "Succeeded" for p in cluster.pods(**{"job-name": "work"}))
    terminated = cluster.pods(**{"job-name": "work"})[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "Completed"


async def test_a_job_fails_after_its_backoff_limit(cluster: Cluster) -> None:
    failing = job("fails", backoffLimit=1)
    failing["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "DEMOCLUSTER_CRASH", "value": "1"}]
    cluster.store.create(JOBS, failing)
    await cluster.wait(lambda: get_condition(cluster.get(JOBS, "fails").get("status"), "Failed"), timeout=20)
    status = cluster.get(JOBS, "fails")["status"]
    assert status["failed"] == 2
    assert get_condition(status, "Failed")["reason"] == "BackoffLimitExceeded"


def test_it_parses_cron_schedules() -> None:
    every_five = Schedule("*/5 * * * *")
    t = datetime(2024, 5, 1, 12, 3, tzinfo=UTC)
    assert every_five.next_after(t) == datetime(2024, 5, 1, 12, 5, tzinfo=UTC)
    workdays = Schedule("30 9 * * 1-5")
    assert workdays.next_after(datetime(2024, 5, 3, 10, 0, tzinfo=UTC)) == datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
    lists = Schedule("0,15 8,20 1 jan,jul *")
    assert lists.next_after(datetime(2024, 1, 1, 8, 15, tzinfo=UTC)) == datetime(2024, 1, 1, 20, 0, tzinfo=UTC)
    assert Schedule("@hourly").next_after(t) == datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    for bad in ("* * * *", "61 * * * *", "*/0 * * * *", "5-1 * * * *"):
        with pytest.raises(CronError):
            Schedule(bad)


async def test_a_cronjob_creates_jobs_on_schedule_and_keeps_history(cluster: Cluster) -> None:
    now = [datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC).timestamp()]
    cluster.ctx.clock = lambda: now[0]
    cj = {
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {
            "schedule": "* * * * *",
            "successfulJobsHistoryLimit": 1,
            "jobTemplate": {"spec": job("x")["spec"]},
        },
    }
    created = cluster.store.create(CRONJOBS, cj)
    # The schedule counts from creation, so pretend the CronJob was made at the start of the minute.
    cluster.store.objects[CRONJOBS.key][("default", "tick")] = {
        **created,
        "metadata": {**created["metadata"], "creationTimestamp": "2030-01-01T00:00:00Z"},
    }
    cronjobs = cluster.ctx.controllers["cronjob"]
    for minute in (1, 2):
        now[0] = datetime(2030, 1, 1, 0, minute, 1, tzinfo=UTC).timestamp()
        cronjobs.enqueue(("default", "tick"))
        name = f"tick-{int(datetime(2030, 1, 1, 0, minute, tzinfo=UTC).timestamp()) // 60}"
        await cluster.wait(lambda name=name: cluster.store.try_get(JOBS, "default", name))
        await cluster.wait(
            lambda name=name: get_condition(cluster.get(JOBS, name).get("status"), "Complete"), timeout=15
        )
    cronjobs.enqueue(("default", "tick"))
    await cluster.wait(lambda: len(cluster.owned(cluster.get(CRONJOBS, "tick"), JOBS)) == 1)
    status = cluster.get(CRONJOBS, "tick")["status"]
    assert status["lastScheduleTime"] == "2030-01-01T00:02:00Z"
    assert "lastSuccessfulTime" in status
    reasons = {e["reason"] for e in cluster.events("tick")}
    assert {"SuccessfulCreate", "SawCompletedJob", "SuccessfulDelete"} <= reasons


# --- garbage collection ----------------------------------------------------------------------------


async def test_background_deletion_takes_replicasets_and_pods(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("bg", replicas=2))
    await cluster.wait(lambda: rollout_done(cluster, "bg"))
    cluster.store.delete(DEPLOYMENTS, "default", "bg", propagation="Background")
    await cluster.wait(lambda: not cluster.pods(app="bg") and not cluster.store.list(REPLICASETS), timeout=15)


async def test_orphan_deletion_leaves_dependents_without_owners(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("orphans", replicas=2))
    await cluster.wait(lambda: rollout_done(cluster, "orphans"))
    cluster.store.delete(DEPLOYMENTS, "default", "orphans", propagation="Orphan")
    await cluster.wait(lambda: cluster.store.try_get(DEPLOYMENTS, "default", "orphans") is None)
    [rs] = cluster.store.list(REPLICASETS)
    assert "ownerReferences" not in rs["metadata"]
    await asyncio.sleep(0.2)
    assert len(cluster.pods(app="orphans")) == 2


async def test_foreground_deletion_removes_dependents_first(cluster: Cluster) -> None:
    cluster.store.create(DEPLOYMENTS, deployment("fg", replicas=2))
    await cluster.wait(lambda: rollout_done(cluster, "fg"))
    order = []

    def watch(type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if type_ == "DELETED":
            order.append(res.kind)

    cluster.store.listeners.append(watch)
    cluster.store.delete(DEPLOYMENTS, "default", "fg", propagation="Foreground")
    d = cluster.get(DEPLOYMENTS, "fg")
    assert d["metadata"]["deletionTimestamp"] and "foregroundDeletion" in d["metadata"]["finalizers"]
    await cluster.wait(lambda: cluster.store.try_get(DEPLOYMENTS, "default", "fg") is None, timeout=15)
    cluster.store.listeners.remove(watch)
    assert order[-1] == "Deployment" and order[-2] == "ReplicaSet" and order.count("Pod") == 2


async def test_deleting_a_job_without_a_policy_orphans_its_pods(cluster: Cluster) -> None:
    cluster.store.create(JOBS, job("sleepy", command="sleep 600"))
    await cluster.wait(lambda: cluster.pods(**{"job-name": "sleepy"}))
    cluster.store.delete(JOBS, "default", "sleepy")
    await cluster.wait(lambda: cluster.store.try_get(JOBS, "default", "sleepy") is None)
    [pod] = cluster.pods(**{"job-name": "sleepy"})
    assert "ownerReferences" not in pod["metadata"]


# --- fidelity, scenario, scale ---------------------------------------------------------------------

SCHEMA_VERSION = "1.32.0"


def assert_valid(res: Resource, obj: Obj) -> None:
    full = {"apiVersion": res.api_version, "kind": res.kind, **obj}
    kubernetes_validate.validate(full, SCHEMA_VERSION, strict=True)
    api = client.ApiClient()
    model = "CoreV1Event" if res.kind == "Event" else f"V1{res.kind}"
    api._ApiClient__deserialize(full, model)


async def test_the_scenario_shows_every_kind_with_valid_objects(cluster: Cluster) -> None:
    scenario.load_default(cluster.store, cluster.ctx.config)
    store = cluster.store

    def everything_running() -> bool:
        return (
            rollout_done_in(store, "demo", "web")
            and store.get(STATEFULSETS, "demo", "db").get("status", {}).get("readyReplicas") == 3
            and (store.get(DAEMONSETS, "demo", "node-agent").get("status") or {}).get("numberAvailable") == 3
            and store.get(PODS, "default", "nginx")["status"].get("phase") == "Running"
            and pod_is_ready(store.get(PODS, "demo", "two-containers"))
            and (store.get(JOBS, "default", "hello").get("status") or {}).get("active") == 1
        )

    await cluster.wait(everything_running, timeout=30)
    stuck = store.get(DEPLOYMENTS, *scenario.STUCK)
    await cluster.wait(
        lambda: (
            store.get(DEPLOYMENTS, *scenario.STUCK)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            == "2"
        ),
        timeout=30,
    )
    stuck = store.get(DEPLOYMENTS, *scenario.STUCK)
    assert len(cluster.owned(stuck, REPLICASETS)) == 2
    two = store.get(PODS, "demo", "two-containers")
    assert two["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    checked = 0
    for res in RESOURCES:
        for obj in store.list(res):
            assert_valid(res, obj)
            checked += 1
    assert checked > 50
    assert store.list(NODES)[0]["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.32")


def rollout_done_in(store: Store, namespace: str, name: str) -> bool:
    d = store.get(DEPLOYMENTS, namespace, name)
    status = d.get("status") or {}
    return status.get("availableReplicas", 0) == d["spec"]["replicas"] == status.get("updatedReplicas", 0)


async def test_scale_mode_builds_settled_workloads_and_churns(cluster: Cluster) -> None:
    store = cluster.store
    scale.generate(store, workloads=40, pods=1000, bench=True)
    assert len(store.list(DEPLOYMENTS)) == 240
    assert len(store.list(PODS)) == 4000
    assert len(store.list(PODS, "bench")) == 3000
    for res in (DEPLOYMENTS, REPLICASETS, PODS):
        assert_valid(res, store.list(res, "bench")[0])
    rv = store.rv
    await asyncio.sleep(0.3)
    assert store.rv == rv  # the controllers agree with what was generated
    churn = asyncio.get_running_loop().create_task(scale.churn(store, rate=200))
    await cluster.wait(lambda: store.rv > rv + 50, timeout=5)
    churn.cancel()
