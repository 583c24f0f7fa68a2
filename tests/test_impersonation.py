"""Podium acts as the signed-in person: edits, scale and their refusals carry Impersonate-User/-Group, the
cluster's RBAC decides, and the API server's audit log names that person. Against democluster and the real
control plane, where Podium's own credential is the user podium-limited bound to the deploy ClusterRole
(which grants ``impersonate`` on users and groups), and the person alice is in the group ``dev``, bound to a
Role that may read ``imp-shop`` and patch its Deployments, but not scale its StatefulSets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client

from realcluster.cluster import RealCluster
from tests.edit_support import form_data
from tests.support.clusters import FLAVORS, Kubernetes, TargetCluster
from tests.support.stack import Democluster, wait_for
from workloads import kube
from workloads.models import ChangeRecord, Cluster
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

PODIUM_TOKEN = "podium-limited-token"
SHOP = "imp-shop"
HIDDEN = "imp-demo"

OBJECTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {SHOP}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {SHOP}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: "nginx:1.27"}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {SHOP}}}
spec:
  replicas: 1
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec: {{containers: [{{name: db, image: "postgres:16"}}]}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {HIDDEN}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: secret-web, namespace: {HIDDEN}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: secret-web}}}}
  template:
    metadata: {{labels: {{app: secret-web}}}}
    spec: {{containers: [{{name: app, image: "nginx:1.27"}}]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: dev, namespace: {SHOP}}}
rules:
- {{apiGroups: [apps], resources: [deployments, statefulsets, replicasets], verbs: [get, list, watch]}}
- {{apiGroups: [apps], resources: [deployments], verbs: [patch]}}
- {{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dev, namespace: {SHOP}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}}]
"""


def podium_role() -> str:
    """The deploy ClusterRole (deploy/kubernetes/10-rbac.yaml's rules), bound to Podium's test credential."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "podium-impersonation-test"},
        "rules": kube.cluster_role_rules(),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "podium-impersonation-test"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "podium-limited"}],
    }
    return yaml.safe_dump_all([role, binding])


class Target:
    def __init__(self, cluster: TargetCluster, podium_kubeconfig: Path, audit_log: Path) -> None:
        self.cluster, self.podium_kubeconfig, self.audit_log = cluster, podium_kubeconfig, audit_log
        self.flavor = cluster.flavor

    def audited(self, verb: str, name: str, subresource: str = "") -> list[dict]:
        """The API server's audit events for ``verb`` of ``name`` in the shop namespace, as Podium sent them."""
        events = [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
        return [
            e
            for e in events
            if e.get("verb") == verb
            and e.get("objectRef", {}).get("namespace") == SHOP
            and e["objectRef"].get("name") == name
            and e["objectRef"].get("subresource", "") == subresource
            and e.get("stage") == "ResponseComplete"
            and e["user"]["username"] == "podium-limited"
        ]


@pytest.fixture(scope="module", params=FLAVORS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("impersonation")
    dc = None
    if request.param == "democluster":
        audit = folder / "audit.log"
        user = f"--user={PODIUM_TOKEN},podium-limited"
        dc = Democluster(folder, "--fresh", "--no-scenario", user, f"--audit-log-path={audit}").start()
        config = yaml.safe_load(dc.kubeconfig.read_text())
        config["users"][0]["user"]["token"] = PODIUM_TOKEN
        podium = folder / "podium.kubeconfig"
        podium.write_text(yaml.safe_dump(config))
        cluster: TargetCluster = dc
    else:
        real: RealCluster = request.getfixturevalue("real_kubernetes")
        cluster = Kubernetes(real)
        cluster.kubectl("delete", "namespace", SHOP, HIDDEN, "--ignore-not-found", "--wait=true", timeout=120)
        podium, audit = real.token_kubeconfig(PODIUM_TOKEN, folder / "podium.kubeconfig"), real.directory / "audit.log"
    cluster.kubectl("apply", "-f", "-", input=podium_role())
    cluster.kubectl("apply", "-f", "-", input=OBJECTS)
    yield Target(cluster, podium, audit)
    cluster.kubectl("delete", "clusterrolebinding,clusterrole", "podium-impersonation-test", check=False)
    if dc is not None:
        dc.stop()


@pytest.fixture
def cluster(target: Target) -> Cluster:
    cache.clear()  # what the last test's person might do (a new Cluster row may get the same id)
    cluster = Cluster.objects.create(
        name="demo",
        connection=Cluster.Connection.KUBECONFIG,
        kubeconfig_path=str(target.podium_kubeconfig),
        context="realcluster" if target.flavor == "kubernetes" else "",
    )
    assert cluster.impersonates  # the default for a kubeconfig cluster
    sync_once(cluster, ["Namespace", "Deployment", "StatefulSet", "ReplicaSet", "Pod"])
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.CONNECTED, cluster.status_message
    return cluster


@pytest.fixture
def alice(db: None) -> Client:
    """An editor in Podium, in the group dev."""
    user = User.objects.create_user("alice", "alice@example.com", "correct horse battery staple")
    user.groups.add(Group.objects.get(name="editor"), Group.objects.get_or_create(name="dev")[0])
    client = Client()
    client.force_login(user)
    return client


ALICE = ("alice", ("dev", "editor", "system:authenticated"))


def impersonated(event: dict) -> tuple[str, tuple[str, ...]]:
    who = event.get("impersonatedUser") or {}
    return who.get("username", ""), tuple(sorted(who.get("groups") or []))


def test_an_edit_is_applied_as_the_signed_in_person(target: Target, cluster: Cluster, alice: Client) -> None:
    url = f"/c/demo/ns/{SHOP}/deployment/web/edit/"
    data = form_data(alice.get(url).content.decode())
    image = next(k for k in data if k.endswith("-image"))
    data[image] = "nginx:1.28"
    data["preview"] = "1"
    preview = alice.post(url, data)
    assert preview.status_code == 200, preview.content.decode()[:2000]

    applied = alice.post(url + "apply/", {"payload": preview.context["payload"]})

    assert applied.status_code == 302
    deployment = target.cluster.get_json("deployment", "web", "-n", SHOP)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    # The dry run and the patch, each sent by Podium's credential as alice (and her groups).
    patches = wait_for(lambda: len(target.audited("patch", "web")) >= 2 and target.audited("patch", "web"))
    assert {impersonated(e) for e in patches} == {ALICE}
    assert patches[-1]["responseStatus"]["code"] == 200  # (a 409 before it: the status moved, Podium re-read)
    records = ChangeRecord.objects.filter(action__in=["edit", "apply"], name="web").order_by("created_at")
    assert [(r.outcome, r.acted_as) for r in records] == [
        (ChangeRecord.Outcome.PREVIEWED, "alice (groups: dev, editor)"),
        (ChangeRecord.Outcome.APPLIED, "alice (groups: dev, editor)"),
    ]


def test_a_refusal_names_the_person_and_is_recorded(target: Target, cluster: Cluster, alice: Client) -> None:
    response = alice.post(f"/c/demo/ns/{SHOP}/statefulset/db/actions/scale/", {"replicas": "3"}, follow=True)

    assert target.cluster.get_json("statefulset", "db", "-n", SHOP)["spec"]["replicas"] == 1
    record = ChangeRecord.objects.get(action="scale", name="db")
    assert record.outcome == ChangeRecord.Outcome.REFUSED
    assert record.acted_as == "alice (groups: dev, editor)"
    assert 'User "alice" cannot patch resource "statefulsets/scale"' in record.message
    assert "alice (groups: dev, editor) may not patch statefulsets/scale in imp-shop" in response.content.decode()
    (event,) = wait_for(lambda: target.audited("patch", "db", "scale"))
    assert (impersonated(event), event["responseStatus"]["code"]) == (
        ALICE,
        403,
    )


def test_a_forged_impersonate_header_from_the_browser_is_ignored(
    target: Target, cluster: Cluster, alice: Client
) -> None:
    alice.post(
        f"/c/demo/ns/{SHOP}/deployment/web/actions/scale/",
        {"replicas": "2"},
        HTTP_IMPERSONATE_USER="podium-admin",
        HTTP_IMPERSONATE_GROUP="system:masters",
    )

    # As alice, who may not patch deployments/scale: refused, and the cluster saw alice, not the forged name.
    assert target.cluster.get_json("deployment", "web", "-n", SHOP)["spec"]["replicas"] == 1
    assert ChangeRecord.objects.get(action="scale", name="web").outcome == ChangeRecord.Outcome.REFUSED
    (event,) = wait_for(lambda: target.audited("patch", "web", "scale"))
    assert impersonated(event) == ALICE


def test_without_impersonation_podium_acts_as_itself(target: Target, cluster: Cluster, alice: Client) -> None:
    Cluster.objects.filter(pk=cluster.pk).update(impersonate=False)
    before = len(target.audited("patch", "db", "scale"))

    alice.post(f"/c/demo/ns/{SHOP}/statefulset/db/actions/scale/", {"replicas": "2"})

    assert target.cluster.get_json("statefulset", "db", "-n", SHOP)["spec"]["replicas"] == 2
    record = ChangeRecord.objects.get(action="scale", name="db")
    assert (record.outcome, record.acted_as) == (ChangeRecord.Outcome.APPLIED, "")
    event = wait_for(lambda: target.audited("patch", "db", "scale")[before:])[0]
    assert "impersonatedUser" not in event
    target.cluster.kubectl("scale", "statefulset", "db", "-n", SHOP, "--replicas=1")


def scale_button(html: str) -> str:
    start = html.index('name="replicas"')
    return html[start : html.index("</form>", start)]


def test_scale_of_a_statefulset_is_disabled_with_the_reason(target: Target, cluster: Cluster, alice: Client) -> None:
    html = alice.get(f"/c/demo/ns/{SHOP}/statefulset/db/").content.decode()

    reason = "alice (groups: dev, editor) may not patch statefulsets/scale in imp-shop"
    assert f'disabled title="{reason}"' in scale_button(html)
    assert f'<small class="denied">{reason}</small>' in html
    # What alice may do is offered: editing the Deployment (patch deployments), not scaling it.
    web = alice.get(f"/c/demo/ns/{SHOP}/deployment/web/").content.decode()
    assert f'href="/c/demo/ns/{SHOP}/deployment/web/edit/"' in web
    assert "may not patch deployments/scale in imp-shop" in scale_button(web)


def test_a_role_change_takes_effect_within_the_cache_time(
    target: Target, cluster: Cluster, alice: Client, settings
) -> None:
    settings.PODIUM_ACCESS_CACHE_SECONDS = 2
    url = f"/c/demo/ns/{SHOP}/statefulset/db/"
    assert "disabled" in scale_button(alice.get(url).content.decode())
    rule = {"apiGroups": ["apps"], "resources": ["statefulsets/scale"], "verbs": ["patch"]}
    patch = json.dumps([{"op": "add", "path": "/rules/-", "value": rule}])
    target.cluster.kubectl("patch", "role", "dev", "-n", SHOP, "--type=json", "-p", patch)
    try:
        wait_for(lambda: "disabled" not in scale_button(alice.get(url).content.decode()), timeout=20, what="Scale")
        alice.post(url + "actions/scale/", {"replicas": "2"})
        assert target.cluster.get_json("statefulset", "db", "-n", SHOP)["spec"]["replicas"] == 2
    finally:
        target.cluster.kubectl(
            "patch", "role", "dev", "-n", SHOP, "--type=json", "-p", '[{"op": "remove", "path": "/rules/3"}]'
        )
        target.cluster.kubectl("scale", "statefulset", "db", "-n", SHOP, "--replicas=1")


def test_a_namespace_the_person_may_not_list_is_hidden_everywhere(
    target: Target, cluster: Cluster, alice: Client
) -> None:
    from workloads import identity, live, live_pages

    overview = alice.get("/").content.decode()
    assert f">{SHOP}<" in overview and HIDDEN not in overview
    listed = alice.get("/c/demo/workloads/").content.decode()
    assert "web" in listed and "secret-web" not in listed
    assert "secret-web" not in alice.get("/c/demo/workloads/?q=secret").content.decode()
    for url in (
        f"/c/demo/ns/{HIDDEN}/",
        f"/c/demo/ns/{HIDDEN}/deployment/secret-web/",
        f"/c/demo/ns/{HIDDEN}/deployment/secret-web/yaml/",
        f"/c/demo/ns/{HIDDEN}/deployment/secret-web/edit/",
        f"/c/demo/ns/{HIDDEN}/deployment/secret-web/logs/",
    ):
        assert alice.get(url).status_code == 404, url
    assert alice.get(f"/?cluster=demo&namespace={HIDDEN}").url == "/c/demo/workloads/"
    user = User.objects.get(username="alice")
    with identity.acting_user(user):
        live_pages.check_subscription(live.namespace_group(cluster.id, SHOP))
        with pytest.raises(live_pages.Refused):
            live_pages.check_subscription(live.namespace_group(cluster.id, HIDDEN))


def test_a_person_in_no_group_sees_nothing_and_is_told_why(target: Target, cluster: Cluster) -> None:
    user = User.objects.create_user("nemo", "nemo@example.com", "correct horse battery staple")
    client = Client()
    client.force_login(user)
    user.user_permissions.add(*Group.objects.get(name="viewer").permissions.all())

    overview = client.get("/").content.decode()

    assert SHOP not in overview and HIDDEN not in overview
    assert "nemo is in no group, so the cluster demo shows them nothing" in overview
    assert client.get(f"/c/demo/ns/{SHOP}/").status_code == 404
