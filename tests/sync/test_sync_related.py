"""The kinds around the workloads are mirrored by the same sync: Services, EndpointSlices, ConfigMaps (key names,
never values), Secrets (metadata only: listed and watched as PartialObjectMetadata, so values never leave the
cluster), PersistentVolumeClaims, HorizontalPodAutoscalers and PodDisruptionBudgets."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.clusters import TargetCluster
from tests.support.manifests import around, documents
from tests.support.stack import wait_for
from tests.support.sync import everything_stored, mirror_equals_cluster
from workloads.models import Cluster, RelatedObject

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SECRET_VALUE = "tr0ub4dor-podium-never-stored"
CONFIG_VALUE = "config-value-podium-never-stored"
AROUND = (
    f"""
apiVersion: v1
kind: Namespace
metadata: {{name: around}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web-config, namespace: around}}
data: {{greeting: {CONFIG_VALUE}, colour: blue}}
---
apiVersion: v1
kind: Secret
metadata: {{name: web-secret, namespace: around, labels: {{app: web}}}}
stringData: {{password: {SECRET_VALUE}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: around}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{{name: http, containerPort: 8080}}]
        envFrom: [{{configMapRef: {{name: web-config}}}}]
        env: [{{name: PASSWORD, valueFrom: {{secretKeyRef: {{name: web-secret, key: password}}}}}}]
"""
    + documents(*around("web", "around"))
    + """---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: around}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""
)


def related(cluster: Cluster, kind: str, name: str) -> RelatedObject:
    return RelatedObject.objects.get(cluster=cluster, kind=kind, namespace="around", name=name, deleted_at=None)


def test_it_mirrors_the_kinds_around_a_workload_without_their_values(
    target: TargetCluster, cluster: Cluster, start_worker
) -> None:
    start_worker()
    # kubectl apply copies the whole Secret, value too, into its last-applied annotation: the hardest case.
    target.kubectl("apply", "-f", "-", input=AROUND)
    target.kubectl("rollout", "status", "-n", "around", "deploy/web", "--timeout=60s", timeout=90)

    def slice_ready() -> bool:
        endpoint_slice = RelatedObject.objects.filter(
            cluster=cluster, kind="EndpointSlice", namespace="around", target_name="web", deleted_at=None
        ).first()
        ready = (
            [e for e in (endpoint_slice.raw.get("endpoints") or []) if e["conditions"]["ready"]]
            if endpoint_slice
            else []
        )
        return len(ready) == 2

    wait_for(slice_ready, timeout=60, interval=0.5, what="the Service's two ready endpoints in the mirror")
    wait_for(lambda: mirror_equals_cluster(target, cluster), timeout=60, interval=0.5, what="mirror")

    config = related(cluster, "ConfigMap", "web-config")
    assert config.keys == ["colour", "greeting"]
    assert "data" not in config.raw
    secret = related(cluster, "Secret", "web-secret")
    assert secret.keys == []  # a metadata-only list does not name them
    assert set(secret.raw) == {"kind", "apiVersion", "metadata"}
    assert secret.labels == {"app": "web"}
    service = related(cluster, "Service", "web")
    assert service.selector == {"app": "web"}
    assert service.raw["spec"]["ports"][0]["targetPort"] == "http"
    hpa = related(cluster, "HorizontalPodAutoscaler", "web")
    assert (hpa.target_kind, hpa.target_name) == ("Deployment", "web")
    assert related(cluster, "PodDisruptionBudget", "web").selector == {"matchLabels": {"app": "web"}}
    assert related(cluster, "PersistentVolumeClaim", "data").phase == "Pending"

    stored = everything_stored()
    for value in (SECRET_VALUE, CONFIG_VALUE):
        assert value not in stored
        assert base64.b64encode(value.encode()).decode()[:20] not in stored

    # The watchers follow changes: a new ConfigMap, a Secret changed then deleted.
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra", "namespace": "around"}}
    target.kubectl("apply", "-f", "-", input=json.dumps(extra | {"data": {"one": "1", "two": "2"}}))
    target.kubectl(
        "patch",
        "secret",
        "web-secret",
        "-n",
        "around",
        "--type=merge",
        "-p",
        json.dumps({"stringData": {"more": SECRET_VALUE}}),
    )
    wait_for(
        lambda: (
            [c.keys for c in RelatedObject.objects.filter(cluster=cluster, kind="ConfigMap", name="extra")]
            == [["one", "two"]]
        ),
        timeout=30,
        what="the new ConfigMap",
    )
    target.kubectl("delete", "secret", "web-secret", "-n", "around")
    wait_for(
        lambda: RelatedObject.objects.get(cluster=cluster, kind="Secret", name="web-secret").deleted_at is not None,
        timeout=30,
        what="the Secret marked deleted",
    )
    wait_for(lambda: mirror_equals_cluster(target, cluster), timeout=60, interval=0.5, what="mirror")
    assert SECRET_VALUE not in everything_stored()
