"""The real kubectl's rollout commands (and the python client's deletes) against democluster's controllers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client

from tests.democluster.helpers import Democluster, deployment_manifest, unique
from tests.support.stack import wait_for


@pytest.fixture
def namespace(democluster: Democluster) -> Iterator[str]:
    name = unique("rollout")
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    democluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
    yield name


def _apply(democluster: Democluster, manifest: dict, namespace: str) -> None:
    democluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def _get(democluster: Democluster, namespace: str, *args: str) -> dict:
    return json.loads(democluster.kubectl("get", "-n", namespace, *args, "-o", "json").stdout)


def _rollout_status(democluster: Democluster, namespace: str, name: str, timeout: str = "60s") -> str:
    return democluster.kubectl(
        "rollout", "status", f"deployment/{name}", "-n", namespace, f"--timeout={timeout}", timeout=90
    ).stdout


def _replica_sets(democluster: Democluster, namespace: str, name: str) -> list[dict]:
    items = _get(democluster, namespace, "replicasets", "-l", f"app={name}")["items"]
    return sorted(items, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def _image(obj: dict) -> str:
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def test_it_scales_and_rolls_out_a_new_image(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("web", replicas=2), namespace)
    assert "successfully rolled out" in _rollout_status(democluster, namespace, "web")
    democluster.kubectl("scale", "deployment/web", "--replicas=4", "-n", namespace)
    assert "successfully rolled out" in _rollout_status(democluster, namespace, "web")
    assert len(_get(democluster, namespace, "pods", "-l", "app=web")["items"]) == 4

    democluster.kubectl("set", "image", "deployment/web", "c0=nginx:1.26", "-n", namespace)
    assert "successfully rolled out" in _rollout_status(democluster, namespace, "web")
    d = _get(democluster, namespace, "deployment", "web")
    assert d["status"]["updatedReplicas"] == d["status"]["availableReplicas"] == 4
    rss = _replica_sets(democluster, namespace, "web")
    assert [rs["spec"]["replicas"] for rs in rss] == [0, 4]
    wait_for(
        lambda: (
            {_image_of_pod(p) for p in _get(democluster, namespace, "pods", "-l", "app=web")["items"]} == {"nginx:1.26"}
        ),
        timeout=30,
        what="old pods to terminate",
    )


def _image_of_pod(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"]


def test_history_and_undo_readopt_the_previous_replicaset(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("app", replicas=2), namespace)
    _rollout_status(democluster, namespace, "app")
    democluster.kubectl("set", "image", "deployment/app", "c0=nginx:1.26", "-n", namespace)
    _rollout_status(democluster, namespace, "app")
    history = democluster.kubectl("rollout", "history", "deployment/app", "-n", namespace).stdout
    assert "REVISION" in history and "1 " in history and "2 " in history
    detail = democluster.kubectl("rollout", "history", "deployment/app", "-n", namespace, "--revision=1").stdout
    assert "nginx:1.25" in detail
    first_rs = _replica_sets(democluster, namespace, "app")[0]["metadata"]["name"]

    democluster.kubectl("rollout", "undo", "deployment/app", "-n", namespace)
    _rollout_status(democluster, namespace, "app")
    d = _get(democluster, namespace, "deployment", "app")
    assert _image(d) == "nginx:1.25"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    rss = _replica_sets(democluster, namespace, "app")
    assert len(rss) == 2
    assert rss[-1]["metadata"]["name"] == first_rs
    assert rss[-1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert rss[-1]["spec"]["replicas"] == 2
    history = democluster.kubectl("rollout", "history", "deployment/app", "-n", namespace).stdout
    assert "3 " in history and "\n1 " not in history


def test_pause_resume_and_restart(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("paused", replicas=2), namespace)
    _rollout_status(democluster, namespace, "paused")
    democluster.kubectl("rollout", "pause", "deployment/paused", "-n", namespace)
    democluster.kubectl("set", "image", "deployment/paused", "c0=nginx:1.26", "-n", namespace)

    def paused_condition() -> bool:
        d = _get(democluster, namespace, "deployment", "paused")
        conditions = {c["type"]: c for c in d["status"].get("conditions", [])}
        return conditions.get("Progressing", {}).get("reason") == "DeploymentPaused"

    wait_for(paused_condition, timeout=15, what="DeploymentPaused")
    assert len(_replica_sets(democluster, namespace, "paused")) == 1
    refused = democluster.kubectl("rollout", "restart", "deployment/paused", "-n", namespace, check=False)
    assert refused.returncode != 0 and "paused" in refused.stderr

    democluster.kubectl("rollout", "resume", "deployment/paused", "-n", namespace)
    assert "successfully rolled out" in _rollout_status(democluster, namespace, "paused")
    assert len(_replica_sets(democluster, namespace, "paused")) == 2

    democluster.kubectl("rollout", "restart", "deployment/paused", "-n", namespace)
    assert "successfully rolled out" in _rollout_status(democluster, namespace, "paused")
    rss = _replica_sets(democluster, namespace, "paused")
    assert len(rss) == 3
    assert "kubectl.kubernetes.io/restartedAt" in rss[-1]["spec"]["template"]["metadata"]["annotations"]


def test_a_bad_image_fails_rollout_status_with_the_progress_deadline(democluster: Democluster, namespace: str) -> None:
    manifest = deployment_manifest("stuck", replicas=2)
    manifest["spec"]["progressDeadlineSeconds"] = 3
    _apply(democluster, manifest, namespace)
    _rollout_status(democluster, namespace, "stuck")
    democluster.kubectl("set", "image", "deployment/stuck", "c0=nginx:1.99-typo", "-n", namespace)
    result = democluster.kubectl(
        "rollout", "status", "deployment/stuck", "-n", namespace, "--timeout=60s", check=False, timeout=90
    )
    assert result.returncode != 0
    assert 'deployment "stuck" exceeded its progress deadline' in result.stderr
    pods = _get(democluster, namespace, "pods", "-l", "app=stuck")["items"]
    waiting = [
        (p["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {}).get("reason")
        for p in pods
    ]
    assert {"ErrImagePull", "ImagePullBackOff"} & set(waiting)
    describe = democluster.kubectl("describe", "deployment", "stuck", "-n", namespace).stdout
    assert "ProgressDeadlineExceeded" in describe
    assert "ScalingReplicaSet" in describe
    assert "NewReplicaSet:" in describe


def test_describe_shows_replica_sets_and_events(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("described", replicas=2), namespace)
    _rollout_status(democluster, namespace, "described")
    out = democluster.kubectl("describe", "deployment", "described", "-n", namespace).stdout
    assert "2 desired | 2 updated | 2 total | 2 available | 0 unavailable" in out
    assert "Available      True    MinimumReplicasAvailable" in out
    assert "NewReplicaSetAvailable" in out
    assert "Scaled up replica set described-" in out


def test_deleting_a_deployment_cascades_to_replicasets_and_pods(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("doomed", replicas=2), namespace)
    _rollout_status(democluster, namespace, "doomed")
    democluster.kubectl("delete", "deployment", "doomed", "-n", namespace, "--wait=true", timeout=60)
    wait_for(
        lambda: (
            not _get(democluster, namespace, "replicasets")["items"]
            and not _get(democluster, namespace, "pods")["items"]
        ),
        timeout=30,
        what="replica sets and pods to go",
    )


def test_deleting_a_job_over_batch_v1_orphans_its_pods(democluster: Democluster, namespace: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "sleeper"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "600"]}],
                    "restartPolicy": "Never",
                }
            }
        },
    }
    _apply(democluster, job, namespace)
    core = client.CoreV1Api(democluster.api_client())
    batch = client.BatchV1Api(democluster.api_client())
    wait_for(
        lambda: core.list_namespaced_pod(namespace, label_selector="job-name=sleeper").items,
        timeout=15,
        what="the job's pod",
    )
    batch.delete_namespaced_job("sleeper", namespace)
    wait_for(lambda: not batch.list_namespaced_job(namespace).items, timeout=15, what="the job to go")
    [pod] = core.list_namespaced_pod(namespace, label_selector="job-name=sleeper").items
    assert not pod.metadata.owner_references
    assert pod.metadata.deletion_timestamp is None

    # kubectl sends propagationPolicy=Background, so the pods go with the job.
    job["metadata"]["name"] = "sleeper2"
    _apply(democluster, job, namespace)
    wait_for(
        lambda: core.list_namespaced_pod(namespace, label_selector="job-name=sleeper2").items,
        timeout=15,
        what="the second job's pod",
    )
    democluster.kubectl("delete", "job", "sleeper2", "-n", namespace, timeout=60)
    wait_for(
        lambda: not core.list_namespaced_pod(namespace, label_selector="job-name=sleeper2").items,
        timeout=30,
        what="the second job's pod to go",
    )


def test_the_python_client_reads_controller_objects(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("typed", replicas=1), namespace)
    _rollout_status(democluster, namespace, "typed")
    apps = client.AppsV1Api(democluster.api_client())
    core = client.CoreV1Api(democluster.api_client())
    d = apps.read_namespaced_deployment("typed", namespace)
    assert d.status.available_replicas == 1 and d.status.unavailable_replicas is None
    [rs] = apps.list_namespaced_replica_set(namespace).items
    assert rs.status.replicas == 1 and rs.metadata.owner_references[0].uid == d.metadata.uid
    [pod] = core.list_namespaced_pod(namespace).items
    [status] = pod.status.container_statuses
    assert status.ready is True and status.restart_count == 0 and status.started is True
    assert status.container_id.startswith("containerd://")
    events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod.metadata.name}").items
    assert {"Scheduled", "Started"} <= {e.reason for e in events}


def test_statefulset_rollout_status_and_undo(democluster: Democluster, namespace: str) -> None:
    labels = {"app": "db"}
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
            },
        },
    }
    _apply(democluster, sts, namespace)
    status = ("rollout", "status", "statefulset/db", "-n", namespace, "--timeout=60s")
    assert "partitioned roll out complete" in democluster.kubectl(*status, timeout=90).stdout
    democluster.kubectl("set", "image", "statefulset/db", "db=postgres:16.3", "-n", namespace)
    democluster.kubectl(*status, timeout=90)
    wait_for(
        lambda: (
            {_image_of_pod(p) for p in _get(democluster, namespace, "pods", "-l", "app=db")["items"]}
            == {"postgres:16.3"}
        ),
        timeout=30,
        what="updated statefulset pods",
    )
    history = democluster.kubectl("rollout", "history", "statefulset/db", "-n", namespace).stdout
    assert "1 " in history and "2 " in history
    democluster.kubectl("rollout", "undo", "statefulset/db", "-n", namespace)
    assert _image(_get(democluster, namespace, "statefulset", "db")) == "postgres:16"
    wait_for(
        lambda: (
            {_image_of_pod(p) for p in _get(democluster, namespace, "pods", "-l", "app=db")["items"]} == {"postgres:16"}
        ),
        timeout=30,
        what="statefulset pods back on the old template",
    )
    revisions = _get(democluster, namespace, "controllerrevisions")["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3]


def test_daemonset_rollout_status(democluster: Democluster, namespace: str) -> None:
    labels = {"app": "agent"}
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "agent", "image": "fluent/fluent-bit:3.0"}]},
            },
        },
    }
    _apply(democluster, ds, namespace)
    status = ("rollout", "status", "daemonset/agent", "-n", namespace, "--timeout=60s")
    assert "successfully rolled out" in democluster.kubectl(*status, timeout=90).stdout
    democluster.kubectl("set", "image", "daemonset/agent", "agent=fluent/fluent-bit:3.1", "-n", namespace)
    assert "successfully rolled out" in democluster.kubectl(*status, timeout=90).stdout
    nodes = {p["spec"]["nodeName"] for p in _get(democluster, namespace, "pods", "-l", "app=agent")["items"]}
    assert len(nodes) == len(_get(democluster, namespace, "nodes")["items"])
