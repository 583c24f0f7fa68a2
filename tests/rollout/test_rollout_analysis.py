"""The rollout analysis (workloads.rollouts) on raw objects shaped as the API server (and democluster) sends them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from workloads.rollouts import analysis as rollouts
from workloads.rollouts.chart import timeline_chart

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def template(image: str = "nginx:1.25", **extra_labels: str) -> dict:
    return {
        "metadata": {"labels": {"app": "web", **extra_labels}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "securityContext": {},
        },
    }


def deployment(
    image: str = "nginx:1.99-typo",
    *,
    replicas: int = 4,
    status: dict | None = None,
    conditions: list | None = None,
    paused: bool = False,
    strategy: dict | None = None,
    deadline: int | None = 10,
    generation: int = 2,
) -> dict:
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": template(image),
        "strategy": strategy
        or {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "revisionHistoryLimit": 10,
    }
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    if paused:
        spec["paused"] = True
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "shop", "uid": "d-1", "generation": generation},
        "spec": spec,
        "status": {"observedGeneration": generation, **(status or {}), "conditions": conditions or []},
    }


def replica_set(hash_: str, revision: int, image: str, *, replicas: int, ready: int) -> dict:
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{hash_}",
            "uid": f"rs-{hash_}",
            "labels": {"app": "web", "pod-template-hash": hash_},
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
        },
        "spec": {"replicas": replicas, "template": template(image, **{"pod-template-hash": hash_})},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
    }


def pod(
    name: str, hash_: str, *, image: str, ready: bool = True, waiting: dict | None = None, **status: object
) -> dict:
    container_status: dict = {
        "name": "web",
        "image": image,
        "ready": ready,
        "restartCount": status.pop("restarts", 0),
        "state": {"waiting": waiting} if waiting else {"running": {"startedAt": ts(60)}},
    }
    if "last" in status:
        container_status["lastState"] = {"terminated": status.pop("last")}
    return {
        "kind": "Pod",
        "metadata": {"name": name, "uid": f"uid-{name}", "labels": {"app": "web", "pod-template-hash": hash_}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": image}]},
        "status": {
            "phase": status.pop("phase", "Pending" if waiting else "Running"),
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
            "containerStatuses": [container_status],
        },
    }


def bad_image_rollout(**kwargs: object) -> tuple[dict, list, list]:
    """4 replicas, 25%/25%: one old Pod went, two new Pods cannot pull their image."""
    d = deployment(
        status={
            "replicas": 5,
            "updatedReplicas": 2,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "unavailableReplicas": 2,
        },
        **kwargs,
    )
    rss = [
        replica_set("old111", 1, "nginx:1.25", replicas=3, ready=3),
        replica_set("new222", 2, "nginx:1.99-typo", replicas=2, ready=0),
    ]
    pull = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:1.99-typo"'}
    pods = [pod(f"web-old111-{i}", "old111", image="nginx:1.25") for i in range(3)]
    pods += [pod(f"web-new222-{i}", "new222", image="nginx:1.99-typo", ready=False, waiting=pull) for i in range(2)]
    return d, rss, pods


def test_it_names_the_image_a_progressing_rollout_cannot_pull() -> None:
    d, rss, pods = bad_image_rollout(
        conditions=[
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated",
                "lastUpdateTime": ts(4),
                "message": 'ReplicaSet "web-new222" is progressing.',
            },
        ]
    )
    r = rollouts.analyse(d, revisions=rss, pods=pods, now=NOW)
    assert r.state == "progressing"
    assert r.causes == ["2 new Pods cannot pull image nginx:1.99-typo (ImagePullBackOff)"]
    assert (r.new_total, r.new_ready, r.old_total, r.old_ready) == (2, 0, 3, 3)
    assert r.new_revision_number == 2 and r.new_revision == "web-new222"
    # 25% of 4: surge 1 (rounds up), unavailable 1 (rounds down); 5 Pods and 3 available use both.
    assert (r.budget.max_surge, r.budget.surge_in_use) == (1, 1)
    assert (r.budget.max_unavailable, r.budget.unavailable_in_use) == (1, 1)
    assert r.budget.surge_exhausted and r.budget.unavailable_exhausted
    assert r.deadline.seconds == 10 and r.deadline.remaining == 6 and not r.deadline.exceeded


def test_it_calls_a_rollout_past_its_deadline_stalled_with_the_cause() -> None:
    d, rss, pods = bad_image_rollout(
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "lastUpdateTime": ts(1),
                "message": 'ReplicaSet "web-new222" has timed out progressing.',
            }
        ]
    )
    r = rollouts.analyse(d, revisions=rss, pods=pods, now=NOW)
    assert r.state == "stalled"
    assert r.causes[0] == "2 new Pods cannot pull image nginx:1.99-typo (ImagePullBackOff)"
    assert r.causes[1] == 'ProgressDeadlineExceeded after 10 s: ReplicaSet "web-new222" has timed out progressing.'
    assert r.deadline.exceeded
    assert "Stalled" in r.summary and "2 of 4 updated" in r.summary


def test_it_reports_crashing_new_pods_with_their_exit_code() -> None:
    d = deployment(
        image="app:crash",
        replicas=2,
        status={"replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2},
        conditions=[{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "lastUpdateTime": ts(2)}],
    )
    rss = [
        replica_set("aaa", 1, "nginx:1.25", replicas=2, ready=2),
        replica_set("bbb", 2, "app:crash", replicas=1, ready=0),
    ]
    crashing = pod(
        "web-bbb-x",
        "bbb",
        image="app:crash",
        ready=False,
        phase="Running",
        waiting={"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container=web"},
        restarts=3,
        last={"exitCode": 1, "reason": "Error", "startedAt": ts(20), "finishedAt": ts(18)},
    )
    pods = [pod("web-aaa-1", "aaa", image="nginx:1.25"), pod("web-aaa-2", "aaa", image="nginx:1.25"), crashing]
    r = rollouts.analyse(d, revisions=rss, pods=pods, now=NOW)
    assert r.causes == ["new Pods crash: CrashLoopBackOff, exit code 1 (container web, 1 Pod, 3 restarts)"]


def test_it_reports_a_failing_readiness_probe_from_events() -> None:
    d = deployment(
        replicas=1,
        status={"replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
        conditions=[{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "lastUpdateTime": ts(2)}],
    )
    rss = [
        replica_set("aaa", 1, "nginx:1.25", replicas=1, ready=1),
        replica_set("bbb", 2, "nginx:1.99-typo", replicas=1, ready=0),
    ]
    unready = pod("web-bbb-1", "bbb", image="nginx:1.99-typo", ready=False)
    events = [
        {
            "involvedObject": {"kind": "Pod", "uid": "uid-web-bbb-1", "fieldPath": "spec.containers{web}"},
            "reason": "Unhealthy",
            "type": "Warning",
            "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
        },
        {
            "involvedObject": {"kind": "Pod", "uid": "uid-other"},
            "reason": "Unhealthy",
            "message": "Readiness probe failed: x",
        },
    ]
    r = rollouts.analyse(
        d, revisions=rss, pods=[pod("web-aaa-1", "aaa", image="nginx:1.25"), unready], events=events, now=NOW
    )
    assert r.causes == ["readiness probe failing on 1 new Pod: HTTP probe failed with statuscode: 503"]


def test_it_says_paused_and_stops_the_clock() -> None:
    d, rss, pods = bad_image_rollout(
        paused=True,
        conditions=[
            {"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused", "lastUpdateTime": ts(30)}
        ],
    )
    r = rollouts.analyse(d, revisions=rss, pods=pods, now=NOW)
    assert r.state == "paused" and r.paused
    assert r.deadline is None and r.causes == []
    assert r.summary == "Paused at 2 of 4 updated: the rollout waits for resume."


def test_it_is_complete_when_kubectl_rollout_status_would_be() -> None:
    d = deployment(
        image="nginx:1.25",
        status={"replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4},
        conditions=[
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastUpdateTime": ts(50)}
        ],
    )
    rss = [
        replica_set("old111", 1, "nginx:1.25", replicas=4, ready=4),
        replica_set("new222", 2, "nginx:1.99-typo", replicas=0, ready=0),
    ]
    pods = [pod(f"web-old111-{i}", "old111", image="nginx:1.25") for i in range(4)]
    r = rollouts.analyse(d, revisions=rss, pods=pods, now=NOW)
    # After an undo, the old ReplicaSet is the new one again (template equality, not the highest revision).
    assert r.state == "complete" and r.new_revision == "web-old111"
    assert (r.new_ready, r.old_total) == (4, 0)
    assert r.deadline is None and r.causes == []

    unobserved = copy.deepcopy(d)
    unobserved["metadata"]["generation"] = 3
    assert rollouts.analyse(unobserved, revisions=rss, pods=pods, now=NOW).state == "progressing"


def test_budgets_round_like_the_controller() -> None:
    spec = {"replicas": 10, "strategy": {"rollingUpdate": {"maxSurge": "15%", "maxUnavailable": "15%"}}}
    budget = rollouts.deployment_budget(spec, {"replicas": 12, "availableReplicas": 9})
    assert (budget.max_surge, budget.max_unavailable, budget.surge_in_use, budget.unavailable_in_use) == (2, 1, 2, 1)
    both_zero = rollouts.deployment_budget(
        {"replicas": 3, "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}, {}
    )
    assert both_zero.max_unavailable == 1
    assert rollouts.deployment_budget({"replicas": 3, "strategy": {"type": "Recreate"}}, {}) is None


def statefulset(*, partition: int, updated: int, ready: int = 4) -> dict:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "db", "uid": "s-1", "generation": 2},
        "spec": {
            "replicas": 4,
            "template": template("postgres:17"),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 4,
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "currentRevision": "db-old",
            "updateRevision": "db-new",
        },
    }


def sts_pod(ordinal: int, revision: str, **kwargs: object) -> dict:
    p = pod(f"db-{ordinal}", "", image="postgres", **kwargs)
    p["metadata"]["labels"] = {"app": "db", "controller-revision-hash": revision}
    return p


def test_a_statefulset_with_a_partition_is_done_when_the_ordinals_above_it_are_updated() -> None:
    revisions = [
        {
            "kind": "ControllerRevision",
            "metadata": {"name": "db-old"},
            "revision": 1,
            "data": {"spec": {"template": template("postgres:16")}},
        },
        {
            "kind": "ControllerRevision",
            "metadata": {"name": "db-new"},
            "revision": 2,
            "data": {"spec": {"template": template("postgres:17")}},
        },
    ]
    pods = [sts_pod(0, "db-old"), sts_pod(1, "db-old"), sts_pod(2, "db-new"), sts_pod(3, "db-new")]
    r = rollouts.analyse(statefulset(partition=2, updated=2), revisions=revisions, pods=pods, now=NOW)
    assert r.state == "complete"
    assert r.partition == 2 and r.target == 2
    assert [(s.label, s.updated, s.held) for s in r.slots] == [
        ("db-0", False, True),
        ("db-1", False, True),
        ("db-2", True, False),
        ("db-3", True, False),
    ]
    assert "ordinals 0–1 keep the old revision" in r.summary and r.new_revision_number == 2

    pods[2] = sts_pod(2, "db-old")
    r = rollouts.analyse(statefulset(partition=2, updated=1, ready=3), revisions=revisions, pods=pods, now=NOW)
    assert r.state == "progressing" and "1 of 2 updated" in r.summary


def test_a_statefulset_whose_updated_pod_cannot_pull_is_stalled() -> None:
    pull = {"reason": "ErrImagePull", "message": "not found"}
    pods = [
        sts_pod(0, "db-old"),
        sts_pod(1, "db-old"),
        sts_pod(2, "db-old"),
        sts_pod(3, "db-new", ready=False, waiting=pull),
    ]
    pods[3]["spec"]["containers"][0]["image"] = "invalid.example/pg:1"
    r = rollouts.analyse(statefulset(partition=0, updated=1, ready=3), revisions=[], pods=pods, now=NOW)
    assert r.state == "stalled"
    assert r.causes == ["1 updated Pod cannot pull image invalid.example/pg:1 (ErrImagePull)"]


def test_a_daemonset_rolls_node_by_node() -> None:
    ds = {
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": 2},
        "spec": {
            "template": template("agent:2"),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        },
        "status": {
            "observedGeneration": 2,
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "updatedNumberScheduled": 1,
            "numberReady": 2,
            "numberAvailable": 2,
        },
    }
    revisions = [
        {
            "kind": "ControllerRevision",
            "metadata": {"name": "agent-h1", "labels": {"controller-revision-hash": "h1"}},
            "revision": 1,
            "data": {"spec": {"template": template("agent:1")}},
        },
        {
            "kind": "ControllerRevision",
            "metadata": {"name": "agent-h2", "labels": {"controller-revision-hash": "h2"}},
            "revision": 2,
            "data": {"spec": {"template": {**template("agent:2"), "$patch": "replace"}}},
        },
    ]
    pods = []
    for node, hash_, ready in (("node-1", "h2", True), ("node-2", "h1", True), ("node-3", "h2", False)):
        p = pod(f"agent-{node}", hash_, image="agent", ready=ready)
        p["metadata"]["labels"] = {"controller-revision-hash": hash_}
        p["spec"]["nodeName"] = node
        pods.append(p)
    r = rollouts.analyse(ds, revisions=revisions, pods=pods, now=NOW)
    assert r.state == "progressing" and r.new_revision_number == 2
    assert [(s.label, s.updated, s.ready) for s in r.slots] == [
        ("node-1", True, True),
        ("node-2", False, True),
        ("node-3", True, False),
    ]
    assert (r.budget.max_unavailable, r.budget.unavailable_in_use) == (1, 1)
    assert "1 of 3 nodes updated" in r.summary


def test_a_job_shows_completion_progress_and_why_it_failed() -> None:
    job = {
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {"completions": 5, "parallelism": 2, "backoffLimit": 1},
        "status": {"succeeded": 3, "active": 2, "failed": 0, "startTime": ts(30)},
    }
    r = rollouts.analyse(job, now=NOW)
    assert r.state == "progressing" and r.summary == "Running: 3 of 5 completions succeeded, 2 active, 0 failed."
    assert [css for css, _w in r.bar] == ["seg-new", "seg-new-pending"]

    job["status"] = {
        "succeeded": 1,
        "failed": 2,
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
            }
        ],
    }
    failed = pod("once-x", "", image="busybox", ready=False, phase="Failed")
    failed["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 3, "reason": "Error"}}
    r = rollouts.analyse(job, pods=[failed], now=NOW)
    assert r.state == "failed"
    assert r.causes == [
        "BackoffLimitExceeded: Job has reached the specified backoff limit",
        "1 Pod failed: exit code 3",
    ]

    job["status"] = {
        "succeeded": 5,
        "startTime": ts(30),
        "completionTime": ts(2),
        "conditions": [{"type": "Complete", "status": "True"}],
    }
    assert rollouts.analyse(job, now=NOW).summary == "Complete: 5 of 5 completions succeeded. Took 28 s."


def test_undo_sends_the_old_template_without_its_hash_label() -> None:
    rs = replica_set("old111", 1, "nginx:1.25", replicas=0, ready=0)
    undone = rollouts.undo_template(rs)
    assert undone["metadata"]["labels"] == {"app": "web"}
    assert undone["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "old111"


def test_the_timeline_draws_old_and_new_ready_as_steps() -> None:
    def sample(seconds_ago: int, revision: str, ready: int, new_ready: int) -> SimpleNamespace:
        return SimpleNamespace(
            at=NOW - timedelta(seconds=seconds_ago), revision=revision, desired=2, ready=ready, new_ready=new_ready
        )

    samples = [sample(40, "a", 2, 2), sample(30, "b", 2, 0), sample(20, "b", 3, 1), sample(10, "b", 2, 2)]
    chart = timeline_chart(samples, now=NOW, revision_labels={"b": "rev 2"})
    assert chart.points == 4 and chart.y_max == 3
    assert [m.label for m in chart.marks] == ["rev 2"]
    assert chart.new_path.startswith("M34.0,") and chart.new_path.count("V") == 3
    assert chart.old_path.count("V") == 2  # 0 -> 2 -> 2 -> 2 -> 0: it changes twice
    assert timeline_chart([], now=NOW).points == 0
