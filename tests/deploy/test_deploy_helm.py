"""The chart in the real control plane (realcluster: kube-apiserver 1.36, kwok nodes that run the Pods'
status): what it renders passes the API server's strict field validation; `helm install` makes Deployments
that become Available; `helm upgrade` with a new image rolls the web Deployment and Podium, syncing that
cluster as the chart's own ServiceAccount, shows the rollout; `helm uninstall` leaves nothing behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client

from realcluster.cluster import RealCluster, helm
from scripts.render_deploy import CHART
from tests.support.democlusters import DEPLOY
from tests.support.stack import wait_for
from workloads.models import Cluster, TemplateRevision, Workload
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

NAMESPACE = "helm-podium"  # of its own; the ClusterRole and its binding are named after the release
EVERYTHING_ON = ["ingress.enabled=true", "ingress.tlsSecretName=podium-tls", "networkPolicy.enabled=true"]
SECRET = [
    "--from-literal=SECRET_KEY=not-a-real-key-for-a-cluster-that-runs-nothing",
    "--from-literal=DATABASE_URL=postgres://podium@postgres.example.internal:5432/podium",
    "--from-literal=REDIS_URL=redis://redis.example.internal:6379/0",
]
# What a namespace holds that no one made: its default ServiceAccount and the cluster's CA bundle.
NAMESPACE_DEFAULTS = {"configmap/kube-root-ca.crt", "serviceaccount/default"}


def sets(values: list[str]) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


def namespaced_objects(cluster: RealCluster, namespace: str) -> set[str]:
    """Every object in the namespace, of every kind the server lists (Events aside: they outlive what
    they are about by design), as kind/name."""
    kinds = cluster.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").stdout.split()
    kinds = [k for k in kinds if k not in {"events", "events.events.k8s.io"}]
    out = cluster.kubectl("get", ",".join(kinds), "-n", namespace, "-o", "name").stdout.split()
    # "deployment.apps/podium-web" -> "deployment/podium-web"
    return {f"{name.split('/')[0].split('.')[0]}/{name.split('/', 1)[1]}" for name in out}


def deployments(cluster: RealCluster, namespace: str) -> dict[str, tuple[int, int]]:
    items = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
    return {d["metadata"]["name"]: (d["status"].get("availableReplicas", 0), d["spec"]["replicas"]) for d in items}


def summary(html: str) -> str:
    (text,) = re.findall(r'<p class="rollout-summary">(.*?)</p>', html, re.DOTALL)
    return text.strip()


def test_what_it_renders_passes_the_api_servers_strict_validation(real_kubernetes: RealCluster, tmp_path: Path) -> None:
    namespace = "helm-dry-run"
    rendered = helm(
        "template", "podium", str(CHART), "--namespace", namespace, *sets(EVERYTHING_ON), home=tmp_path
    ).stdout
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    assert {d["kind"] for d in documents} == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Service",
        "Ingress",
        "NetworkPolicy",
    }
    real_kubernetes.kubectl("create", "namespace", namespace)
    try:
        result = real_kubernetes.kubectl(
            "apply", "--dry-run=server", "--validate=strict", "-f", "-", input=rendered, check=False
        )
        assert result.returncode == 0, result.stderr
        assert len([line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]) == len(documents)
        left = namespaced_objects(real_kubernetes, namespace) - NAMESPACE_DEFAULTS
        assert left == set(), "a dry run creates nothing"
        assert real_kubernetes.kubectl("get", "clusterrole", "podium", "--ignore-not-found").stdout == ""

        # The server checks fields strictly, so a typo in a template would fail this test.
        web = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "podium-web")
        web["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
        typo = real_kubernetes.kubectl(
            "apply", "--dry-run=server", "--validate=strict", "-f", "-", input=yaml.safe_dump(web), check=False
        )
        assert typo.returncode != 0 and 'unknown field "spec.template.spec.containers[0].imagePullPolcy"' in typo.stderr
    finally:
        real_kubernetes.kubectl("delete", "namespace", namespace, "--wait=false")


def test_helm_installs_upgrades_and_uninstalls_it_and_podium_shows_the_upgrade_rolling_out(
    real_kubernetes: RealCluster, viewer_client: Client, tmp_path: Path
) -> None:
    ns = NAMESPACE
    try:
        # The namespace enforces the "restricted" Pod Security profile (as deploy/kubernetes/00-namespace.yaml
        # does), so every Pod the chart makes must pass it to exist at all.
        namespace = yaml.safe_load((DEPLOY / "kubernetes" / "00-namespace.yaml").read_text())
        namespace["metadata"]["name"] = ns
        real_kubernetes.kubectl("apply", "-f", "-", input=json.dumps(namespace))
        # Then as the README says: install, then the Secret (the notes say how; the Pods wait for it).
        installed = real_kubernetes.helm(
            "install", "podium", str(CHART), "-n", ns, "--create-namespace", *sets(EVERYTHING_ON)
        ).stdout
        print(f"$ helm install podium deploy/helm/podium -n {ns} --create-namespace ...\n{installed}")
        assert "STATUS: deployed" in installed and "REVISION: 1" in installed
        assert f"kubectl -n {ns} create secret generic podium-secrets" in installed
        assert f"kubectl -n {ns} rollout status deployment/podium-web" in installed
        assert "https://podium.example.com/" in installed
        assert f"kubectl -n {ns} exec -it deployment/podium-web -c web -- python manage.py createsuperuser" in installed
        real_kubernetes.kubectl("create", "secret", "generic", "podium-secrets", "-n", ns, *SECRET)

        real_kubernetes.kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", ns, "--timeout=120s")
        assert deployments(real_kubernetes, ns) == {
            "podium-web": (2, 2),
            "podium-worker": (2, 2),
            "podium-beat": (1, 1),
        }

        # Podium as the chart's ServiceAccount: the ClusterRole the chart made is all it has.
        token = real_kubernetes.kubectl("create", "token", "podium", "-n", ns).stdout.strip()
        cluster = Cluster.objects.create(
            name="helm",
            connection=Cluster.Connection.KUBECONFIG,
            kubeconfig_path=str(real_kubernetes.token_kubeconfig(token, tmp_path / "podium-sa.kubeconfig")),
            context="realcluster",
            impersonate=False,  # Podium as its ServiceAccount alone
        )
        sync_once(cluster)
        cluster.refresh_from_db()
        assert (cluster.status, cluster.status_message) == ("connected", "")
        panel_url = f"/c/helm/ns/{ns}/deployment/podium-web/rollout/"
        assert summary(viewer_client.get(panel_url).content.decode()) == (
            "Complete: revision 1 runs on 2 of 2 Pods, all available."
        )

        upgraded = real_kubernetes.helm(
            "upgrade",
            "podium",
            str(CHART),
            "-n",
            ns,
            "--reuse-values",
            "--set",
            "image.tag=0.2.0",
            "--set",
            "web.replicas=3",
        ).stdout
        print(f"$ helm upgrade podium deploy/helm/podium -n {ns} --reuse-values --set image.tag=0.2.0 ...\n{upgraded}")
        assert 'Release "podium" has been upgraded.' in upgraded and "REVISION: 2" in upgraded
        assert "Podium 0.2.0 is upgraded (revision 2)" in upgraded and "createsuperuser" not in upgraded

        # What a person watching the rollout page sees, one sync at a time, until it is done.
        seen: list[str] = []

        def rolled_out() -> bool:
            sync_once(cluster)
            seen.append(summary(viewer_client.get(panel_url).content.decode()))
            return seen[-1] == "Complete: revision 2 runs on 3 of 3 Pods, all available."

        wait_for(rolled_out, timeout=120, interval=0.2, what="the rollout panel to show revision 2 complete")
        print("rollout panel, sync after sync:\n  " + "\n  ".join(dict.fromkeys(seen)))
        assert [s for s in seen if s.startswith("Rolling out revision 2")], seen

        web = Workload.objects.get(cluster=cluster, kind="Deployment", namespace=ns, name="podium-web")
        revisions = TemplateRevision.objects.filter(cluster=cluster, workload_uid=web.uid, deleted_at__isnull=True)
        assert sorted(revisions.values_list("revision", "replicas")) == [(1, 0), (2, 3)]
        entries = viewer_client.get(f"/c/helm/ns/{ns}/deployment/podium-web/revisions/").context["entries"]
        assert [(e.revision, e.current, e.images) for e in entries] == [
            (2, True, ["podium:0.2.0", "podium:0.2.0"]),  # the migrate init container, then web
            (1, False, ["podium:0.1.0", "podium:0.1.0"]),
        ]
        assert real_kubernetes.kubectl("get", "deployment", "podium-beat", "-n", ns, "-o", "name").stdout.strip()

        uninstalled = real_kubernetes.helm("uninstall", "podium", "-n", ns, "--wait", "--timeout=120s").stdout
        print(f"$ helm uninstall podium -n {ns} --wait\n{uninstalled}")
        assert 'release "podium" uninstalled' in uninstalled
        # The Pods go after their ReplicaSets, which the garbage collector removes after the Deployments.
        wait_for(
            lambda: namespaced_objects(real_kubernetes, ns) == {"secret/podium-secrets", *NAMESPACE_DEFAULTS},
            timeout=90,
            what="the namespace to hold only the Secret we made",
        )
        for kind in ("clusterrole", "clusterrolebinding"):
            assert real_kubernetes.kubectl("get", kind, "podium", "--ignore-not-found").stdout == "", kind
            assert (
                real_kubernetes.kubectl("get", kind, "-l", "app.kubernetes.io/instance=podium", "-o", "name").stdout
                == ""
            )
        assert real_kubernetes.helm("list", "-n", ns, "--all", "-q").stdout.strip() == ""
    finally:
        real_kubernetes.helm("uninstall", "podium", "-n", ns, "--ignore-not-found", check=False)
        real_kubernetes.kubectl("delete", "namespace", ns, "--wait=false", check=False)
