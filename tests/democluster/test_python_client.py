"""democluster as the official python client sees it: lists, watches, patches, conflicts, validation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.democluster.helpers import Democluster, deployment_manifest, pod_manifest, unique
from tests.support.stack import wait_for


@pytest.fixture
def namespace(democluster: Democluster) -> Iterator[str]:
    name = unique("ns")
    core = client.CoreV1Api(democluster.api_client())
    core.create_namespace({"metadata": {"name": name}})
    yield name


@pytest.fixture
def core(democluster: Democluster) -> client.CoreV1Api:
    return client.CoreV1Api(democluster.api_client())


@pytest.fixture
def apps(democluster: Democluster) -> client.AppsV1Api:
    return client.AppsV1Api(democluster.api_client())


def test_it_resumes_a_watch_from_a_list_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, pod_manifest("before"))
    listed = core.list_namespaced_pod(namespace)
    assert [p.metadata.name for p in listed.items] == ["before"]
    core.create_namespaced_pod(namespace, pod_manifest("after"))

    seen = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_pod, namespace, resource_version=listed.metadata.resource_version, timeout_seconds=10
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if event["object"].metadata.name == "after":
            w.stop()
    # The scheduler may modify "before" first; what matters is that "after" arrives as ADDED and "before",
    # already listed, is never replayed as ADDED.
    assert ("ADDED", "after") in seen
    assert ("ADDED", "before") not in seen


def test_it_sends_every_match_as_added_without_a_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    for name in ("a", "b", "c"):
        core.create_namespaced_pod(namespace, pod_manifest(name, tier="x"))
    seen = set()
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, namespace, label_selector="tier=x", timeout_seconds=10):
        assert event["type"] in ("ADDED", "MODIFIED")
        seen.add(event["object"].metadata.name)
        if seen == {"a", "b", "c"}:
            w.stop()
    assert seen == {"a", "b", "c"}


def test_it_answers_410_to_a_watch_from_a_compacted_resource_version(
    democluster: Democluster, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, pod_manifest("old"))
    rv = core.list_namespaced_pod(namespace).metadata.resource_version
    core.create_namespaced_pod(namespace, pod_manifest("new"))
    assert democluster.request("POST", "/democluster/compact").status_code == 200

    response = democluster.request(
        "GET", f"/api/v1/namespaces/{namespace}/pods?watch=true&resourceVersion={rv}&timeoutSeconds=5"
    )
    assert response.status_code == 200
    event = json.loads(response.text.splitlines()[0])
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"

    with pytest.raises(ApiException) as caught:
        for _ in watch.Watch().stream(core.list_namespaced_pod, namespace, resource_version=rv, timeout_seconds=5):
            pass
    assert caught.value.status == 410


def test_it_expires_a_continue_token_after_compaction(
    democluster: Democluster, core: client.CoreV1Api, namespace: str
) -> None:
    for name in ("p1", "p2", "p3"):
        core.create_namespaced_pod(namespace, pod_manifest(name))
    first = core.list_namespaced_pod(namespace, limit=2)
    assert [p.metadata.name for p in first.items] == ["p1", "p2"]
    assert first.metadata._continue
    second = core.list_namespaced_pod(namespace, limit=2, _continue=first.metadata._continue)
    assert [p.metadata.name for p in second.items] == ["p3"]
    assert not second.metadata._continue

    core.create_namespaced_config_map(namespace, {"metadata": {"name": "later"}})
    democluster.request("POST", "/democluster/compact")
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod(namespace, limit=2, _continue=first.metadata._continue)
    assert caught.value.status == 410


def test_it_sends_bookmarks_when_asked(democluster: Democluster, namespace: str) -> None:
    response = democluster.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=3",
        stream=True,
    )
    assert response.status_code == 200
    events = [json.loads(line) for line in response.iter_lines() if line]
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks
    assert int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) > 0
    assert bookmarks[-1]["object"]["kind"] == "Pod"


def test_watchers_of_one_change_each_get_their_own_complete_event(
    democluster: Democluster, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, pod_manifest("shared", tier="front"))
    rv = core.list_namespaced_pod(namespace).metadata.resource_version
    paths = {
        "namespace": f"/api/v1/namespaces/{namespace}/pods",
        "cluster": "/api/v1/pods",
        "selector": f"/api/v1/namespaces/{namespace}/pods?labelSelector=tier%3Dfront",  # the Pod leaves it
        "metadata": f"/api/v1/namespaces/{namespace}/pods",
    }
    accept = {"metadata": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"}
    streams = {
        watcher: democluster.request(
            "GET",
            f"{path}{'&' if '?' in path else '?'}watch=1&resourceVersion={rv}&timeoutSeconds=10",
            headers={"Accept": accept[watcher]} if watcher in accept else None,
            stream=True,
        )
        for watcher, path in paths.items()
    }
    changed = core.patch_namespaced_pod("shared", namespace, {"metadata": {"labels": {"tier": "back"}}})
    changed_rv = changed.metadata.resource_version

    def the_change(response: Any) -> dict[str, Any]:
        for line in response.iter_lines():
            event = json.loads(line)
            if event["object"]["metadata"].get("resourceVersion") == changed_rv:
                return event
        raise AssertionError("the watch ended without the change")

    events = {watcher: the_change(response) for watcher, response in streams.items()}
    for watcher in ("namespace", "cluster", "selector"):
        event = events[watcher]
        assert (event["object"]["kind"], event["object"]["apiVersion"]) == ("Pod", "v1"), watcher
        assert event["object"]["metadata"]["labels"]["tier"] == "back", watcher
        assert event["object"]["spec"]["containers"], watcher
    assert events["namespace"]["type"] == events["cluster"]["type"] == "MODIFIED"
    assert events["selector"]["type"] == "DELETED"
    metadata_only = events["metadata"]["object"]
    assert (metadata_only["kind"], metadata_only["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert "spec" not in metadata_only
    for response in streams.values():
        response.close()


def test_it_patches_one_container_image_strategically(apps: client.AppsV1Api, namespace: str) -> None:
    name = unique("web")
    apps.create_namespaced_deployment(namespace, deployment_manifest(name, images=("nginx:1.25", "busybox:1.36")))

    patched = apps.patch_namespaced_deployment(
        name, namespace, {"spec": {"template": {"spec": {"containers": [{"name": "c1", "image": "busybox:1.37"}]}}}}
    )

    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("c0", "nginx:1.25"), ("c1", "busybox:1.37")]
    assert patched.metadata.generation == 2


def test_it_refuses_a_stale_resource_version_with_409(apps: client.AppsV1Api, namespace: str) -> None:
    name = unique("web")
    created = apps.create_namespaced_deployment(namespace, deployment_manifest(name))

    def replace_fresh() -> bool:
        # Controllers write status too, so a fresh read can itself go stale: retry as kubectl does.
        current = apps.read_namespaced_deployment(name, namespace)
        current.spec.replicas = 2
        try:
            apps.replace_namespaced_deployment(name, namespace, current)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    wait_for(replace_fresh, timeout=10, what="a replace with a fresh resourceVersion")
    created.spec.replicas = 3
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment(name, namespace, created)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "Conflict"
    assert apps.read_namespaced_deployment(name, namespace).spec.replicas == 2


def test_it_rejects_an_invalid_deployment_with_422_causes(apps: client.AppsV1Api, namespace: str) -> None:
    manifest = deployment_manifest("broken")
    manifest["spec"]["replicas"] = -1
    del manifest["spec"]["template"]["spec"]["containers"][0]["image"]

    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment(namespace, manifest)

    assert caught.value.status == 422
    status = json.loads(caught.value.body)
    causes = {(c["field"], c["message"]) for c in status["details"]["causes"]}
    assert ("spec.replicas", "Invalid value: -1: must be greater than or equal to 0") in causes
    assert ("spec.template.spec.containers[0].image", "Required value") in causes
    assert status["details"]["kind"] == "Deployment"
    assert apps.list_namespaced_deployment(namespace).items == []


def test_it_rejects_requests_above_limits(apps: client.AppsV1Api, namespace: str) -> None:
    manifest = deployment_manifest("greedy")
    manifest["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "2"},
        "limits": {"cpu": "1"},
    }
    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment(namespace, manifest)
    cause = json.loads(caught.value.body)["details"]["causes"][0]
    assert cause["field"] == "spec.template.spec.containers[0].resources.requests"
    assert cause["message"] == 'Invalid value: "2": must be less than or equal to cpu limit of 1'


def test_it_defaults_a_deployment(apps: client.AppsV1Api, namespace: str) -> None:
    manifest = deployment_manifest(unique("web"))
    del manifest["spec"]["replicas"]
    created = apps.create_namespaced_deployment(namespace, manifest)
    assert created.spec.replicas == 1
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.revision_history_limit == 10
    assert created.spec.progress_deadline_seconds == 600
    container = created.spec.template.spec.containers[0]
    assert container.image_pull_policy == "IfNotPresent"
    assert container.termination_message_path == "/dev/termination-log"
    assert created.spec.template.spec.restart_policy == "Always"


def test_it_changes_nothing_on_a_dry_run(apps: client.AppsV1Api, namespace: str) -> None:
    name = unique("web")
    created = apps.create_namespaced_deployment(namespace, deployment_manifest(name))
    apps.patch_namespaced_deployment(name, namespace, {"spec": {"replicas": 5}}, dry_run="All")
    apps.create_namespaced_deployment(namespace, deployment_manifest(unique("other")), dry_run="All")
    apps.delete_namespaced_deployment(name, namespace, dry_run="All")

    current = apps.read_namespaced_deployment(name, namespace)
    assert current.spec.replicas == 1
    # Not the resourceVersion: the controllers write this Deployment's status meanwhile. A spec change would
    # have bumped the generation, and a delete would have removed it.
    assert current.metadata.generation == created.metadata.generation == 1
    assert current.metadata.deletion_timestamp is None
    assert [d.metadata.name for d in apps.list_namespaced_deployment(namespace).items] == [name]


def _create_one_of_each(democluster: Democluster, namespace: str) -> None:
    api = democluster.api_client()
    core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
    template = {
        "metadata": {"labels": {"app": "all"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "ports": [{"containerPort": 8080}]}]},
    }
    job_template = {
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}}
        }
    }
    selector = {"matchLabels": {"app": "all"}}
    core.create_namespaced_pod(namespace, pod_manifest("one"))
    core.create_namespaced_service(namespace, {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"a": "b"}})
    apps.create_namespaced_deployment(namespace, deployment_manifest("deploy"))
    apps.create_namespaced_replica_set(
        namespace, {"metadata": {"name": "rs"}, "spec": {"selector": selector, "template": template}}
    )
    apps.create_namespaced_stateful_set(
        namespace,
        {"metadata": {"name": "sts"}, "spec": {"selector": selector, "template": template, "serviceName": "svc"}},
    )
    apps.create_namespaced_daemon_set(
        namespace, {"metadata": {"name": "ds"}, "spec": {"selector": selector, "template": template}}
    )
    batch.create_namespaced_job(namespace, {"metadata": {"name": "job"}, "spec": job_template["spec"]})
    batch.create_namespaced_cron_job(
        namespace, {"metadata": {"name": "cj"}, "spec": {"schedule": "*/5 * * * *", "jobTemplate": job_template}}
    )


SERVED = [
    ("/api/v1", "pods", "Pod", "V1Pod"),
    ("/api/v1", "namespaces", "Namespace", "V1Namespace"),
    ("/api/v1", "nodes", "Node", "V1Node"),
    ("/api/v1", "events", "Event", "CoreV1Event"),
    ("/api/v1", "services", "Service", "V1Service"),
    ("/api/v1", "configmaps", "ConfigMap", "V1ConfigMap"),
    ("/apis/apps/v1", "deployments", "Deployment", "V1Deployment"),
    ("/apis/apps/v1", "replicasets", "ReplicaSet", "V1ReplicaSet"),
    ("/apis/apps/v1", "statefulsets", "StatefulSet", "V1StatefulSet"),
    ("/apis/apps/v1", "daemonsets", "DaemonSet", "V1DaemonSet"),
    ("/apis/apps/v1", "controllerrevisions", "ControllerRevision", "V1ControllerRevision"),
    ("/apis/batch/v1", "jobs", "Job", "V1Job"),
    ("/apis/batch/v1", "cronjobs", "CronJob", "V1CronJob"),
]


def test_every_served_object_deserializes_and_validates_strictly(democluster: Democluster, namespace: str) -> None:
    _create_one_of_each(democluster, namespace)
    api_client = democluster.api_client()
    checked = 0
    for prefix, plural, kind, model in SERVED:
        listed = democluster.request("GET", f"{prefix}/{plural}").json()
        assert listed["kind"] == f"{kind}List"
        for item in listed["items"]:
            assert "kind" not in item
            obj: dict[str, Any] = {"kind": kind, "apiVersion": listed["apiVersion"], **item}
            api_client.deserialize(json.dumps(obj), model, "application/json")
            try:
                kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{kind} {item['metadata']['name']}: {'.'.join(map(str, exc.path))}: {exc.message}")
            checked += 1
    assert checked >= 13


def test_it_creates_by_server_side_apply_and_removes_dropped_fields(
    democluster: Democluster, apps: client.AppsV1Api, namespace: str
) -> None:
    name = unique("ssa")
    manifest = deployment_manifest(name, images=("nginx:1.25", "busybox:1.36"))
    manifest["metadata"]["labels"]["extra"] = "yes"
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}?fieldManager=tester"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    assert democluster.request("PATCH", path, data=json.dumps(manifest).encode(), headers=headers).status_code == 201

    del manifest["metadata"]["labels"]["extra"]
    manifest["spec"]["template"]["spec"]["containers"].pop()
    response = democluster.request("PATCH", path, data=json.dumps(manifest).encode(), headers=headers)
    assert response.status_code == 200

    current = apps.read_namespaced_deployment(name, namespace)
    assert current.metadata.labels == {"app": name}
    assert [c.name for c in current.spec.template.spec.containers] == ["c0"]
    assert current.metadata.managed_fields[-1].manager == "tester"

    no_manager = democluster.request("PATCH", path.split("?")[0], data=json.dumps(manifest).encode(), headers=headers)
    assert no_manager.status_code == 422


def test_it_scales_through_the_scale_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    name = unique("web")
    apps.create_namespaced_deployment(namespace, deployment_manifest(name))
    scale = apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4
    assert scale.status.selector == f"app={name}"
    wait_for(lambda: apps.read_namespaced_deployment(name, namespace).spec.replicas == 4, timeout=10)
