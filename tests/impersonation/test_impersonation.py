"""Podium acts as the signed-in person: edits, scale and their refusals carry Impersonate-User/-Group, the
cluster's RBAC decides what is offered and seen, and the API server's audit log names that person. On both
clusters (see tests/support/impersonation.py for who may do what)."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from tests.support.edit import form_data
from tests.support.impersonation import ALICE, HIDDEN, SHOP, Target, impersonated
from tests.support.stack import wait_for
from workloads.models import ChangeRecord, Cluster

pytestmark = pytest.mark.django_db


def test_an_edit_is_applied_as_the_signed_in_person(imp_target: Target, imp_cluster: Cluster, alice: Client) -> None:
    url = f"/c/demo/ns/{SHOP}/deployment/web/edit/"
    data = form_data(alice.get(url).content.decode())
    image = next(k for k in data if k.endswith("-image"))
    data[image] = "nginx:1.28"
    data["preview"] = "1"
    preview = alice.post(url, data)
    assert preview.status_code == 200, preview.content.decode()[:2000]

    applied = alice.post(url + "apply/", {"payload": preview.context["payload"]})

    assert applied.status_code == 302
    deployment = imp_target.cluster.get_json("deployment", "web", "-n", SHOP)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    # The dry run and the patch, each sent by Podium's credential as alice (and her groups).
    patches = wait_for(lambda: len(imp_target.audited("patch", "web")) >= 2 and imp_target.audited("patch", "web"))
    assert {impersonated(e) for e in patches} == {ALICE}
    assert patches[-1]["responseStatus"]["code"] == 200  # (a 409 before it: the status moved, Podium re-read)
    records = ChangeRecord.objects.filter(action__in=["edit", "apply"], name="web").order_by("created_at")
    assert [(r.outcome, r.acted_as) for r in records] == [
        (ChangeRecord.Outcome.PREVIEWED, "alice (groups: dev, editor)"),
        (ChangeRecord.Outcome.APPLIED, "alice (groups: dev, editor)"),
    ]


def test_a_refusal_names_the_person_and_is_recorded(imp_target: Target, imp_cluster: Cluster, alice: Client) -> None:
    response = alice.post(f"/c/demo/ns/{SHOP}/statefulset/db/actions/scale/", {"replicas": "3"}, follow=True)

    assert imp_target.cluster.get_json("statefulset", "db", "-n", SHOP)["spec"]["replicas"] == 1
    record = ChangeRecord.objects.get(action="scale", name="db")
    assert record.outcome == ChangeRecord.Outcome.REFUSED
    assert record.acted_as == "alice (groups: dev, editor)"
    assert 'User "alice" cannot patch resource "statefulsets/scale"' in record.message
    audit = alice.get("/audit/").content.decode()
    assert "as alice (groups: dev, editor) on the cluster" in audit
    assert "alice (groups: dev, editor) may not patch statefulsets/scale in imp-shop" in response.content.decode()
    (event,) = wait_for(lambda: imp_target.audited("patch", "db", "scale"))
    assert (impersonated(event), event["responseStatus"]["code"]) == (
        ALICE,
        403,
    )


def test_a_forged_impersonate_header_from_the_browser_is_ignored(
    imp_target: Target, imp_cluster: Cluster, alice: Client
) -> None:
    alice.post(
        f"/c/demo/ns/{SHOP}/deployment/web/actions/scale/",
        {"replicas": "2"},
        HTTP_IMPERSONATE_USER="podium-admin",
        HTTP_IMPERSONATE_GROUP="system:masters",
    )

    # As alice, who may not patch deployments/scale: refused, and the cluster saw alice, not the forged name.
    assert imp_target.cluster.get_json("deployment", "web", "-n", SHOP)["spec"]["replicas"] == 1
    assert ChangeRecord.objects.get(action="scale", name="web").outcome == ChangeRecord.Outcome.REFUSED
    (event,) = wait_for(lambda: imp_target.audited("patch", "web", "scale"))
    assert impersonated(event) == ALICE


def test_without_impersonation_podium_acts_as_itself(imp_target: Target, imp_cluster: Cluster, alice: Client) -> None:
    Cluster.objects.filter(pk=imp_cluster.pk).update(impersonate=False)
    before = len(imp_target.audited("patch", "db", "scale"))

    alice.post(f"/c/demo/ns/{SHOP}/statefulset/db/actions/scale/", {"replicas": "2"})

    assert imp_target.cluster.get_json("statefulset", "db", "-n", SHOP)["spec"]["replicas"] == 2
    record = ChangeRecord.objects.get(action="scale", name="db")
    assert (record.outcome, record.acted_as) == (ChangeRecord.Outcome.APPLIED, "")
    event = wait_for(lambda: imp_target.audited("patch", "db", "scale")[before:])[0]
    assert "impersonatedUser" not in event
    imp_target.cluster.kubectl("scale", "statefulset", "db", "-n", SHOP, "--replicas=1")


def scale_button(html: str) -> str:
    start = html.index('name="replicas"')
    return html[start : html.index("</form>", start)]


def test_scale_of_a_statefulset_is_disabled_with_the_reason(
    imp_target: Target, imp_cluster: Cluster, alice: Client
) -> None:
    html = alice.get(f"/c/demo/ns/{SHOP}/statefulset/db/").content.decode()

    reason = "alice (groups: dev, editor) may not patch statefulsets/scale in imp-shop"
    assert f'disabled title="{reason}"' in scale_button(html)
    assert f'<small class="denied">{reason}</small>' in html
    # What alice may do is offered: editing the Deployment (patch deployments), not scaling it.
    web = alice.get(f"/c/demo/ns/{SHOP}/deployment/web/").content.decode()
    assert f'href="/c/demo/ns/{SHOP}/deployment/web/edit/"' in web
    assert "may not patch deployments/scale in imp-shop" in scale_button(web)


def test_a_role_change_takes_effect_within_the_cache_time(
    imp_target: Target, imp_cluster: Cluster, alice: Client, settings
) -> None:
    settings.PODIUM_ACCESS_CACHE_SECONDS = 2
    url = f"/c/demo/ns/{SHOP}/statefulset/db/"
    assert "disabled" in scale_button(alice.get(url).content.decode())
    rule = {"apiGroups": ["apps"], "resources": ["statefulsets/scale"], "verbs": ["patch"]}
    patch = json.dumps([{"op": "add", "path": "/rules/-", "value": rule}])
    imp_target.cluster.kubectl("patch", "role", "dev", "-n", SHOP, "--type=json", "-p", patch)
    try:
        wait_for(lambda: "disabled" not in scale_button(alice.get(url).content.decode()), timeout=20, what="Scale")
        alice.post(url + "actions/scale/", {"replicas": "2"})
        assert imp_target.cluster.get_json("statefulset", "db", "-n", SHOP)["spec"]["replicas"] == 2
    finally:
        imp_target.cluster.kubectl(
            "patch", "role", "dev", "-n", SHOP, "--type=json", "-p", '[{"op": "remove", "path": "/rules/3"}]'
        )
        imp_target.cluster.kubectl("scale", "statefulset", "db", "-n", SHOP, "--replicas=1")


def test_a_namespace_the_person_may_not_list_is_hidden_everywhere(
    imp_target: Target, imp_cluster: Cluster, alice: Client
) -> None:
    from workloads import identity
    from workloads.live import publish as live
    from workloads.live import subscriptions

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
        f"/c/demo/ns/{HIDDEN}/deployment/secret-web/revisions/",
        f"/c/demo/ns/{HIDDEN}/deployment/secret-web/rollout/",
    ):
        assert alice.get(url).status_code == 404, url
    assert alice.get(f"/?cluster=demo&namespace={HIDDEN}").url == "/c/demo/workloads/"
    user = User.objects.get(username="alice")
    with identity.acting_user(user):
        subscriptions.check_subscription(live.namespace_group(imp_cluster.id, SHOP))
        with pytest.raises(subscriptions.Refused):
            subscriptions.check_subscription(live.namespace_group(imp_cluster.id, HIDDEN))


def test_a_person_in_no_group_sees_nothing_and_is_told_why(imp_target: Target, imp_cluster: Cluster) -> None:
    user = User.objects.create_user("nemo", "nemo@example.com", "correct horse battery staple")
    client = Client()
    client.force_login(user)
    user.user_permissions.add(*Group.objects.get(name="viewer").permissions.all())

    overview = client.get("/").content.decode()

    assert SHOP not in overview and HIDDEN not in overview
    assert "nemo is in no group, so the cluster demo shows them nothing" in overview
    assert client.get(f"/c/demo/ns/{SHOP}/").status_code == 404


def test_undo_to_a_revision_and_the_yaml_tab_are_disabled_with_the_reason(
    imp_target: Target, imp_cluster: Cluster, alice: Client
) -> None:
    from django.core.cache import cache

    from workloads.sync.watcher import sync_once

    image = imp_target.cluster.get_json("deployment", "web", "-n", SHOP)["spec"]["template"]["spec"]["containers"][0]
    imp_target.cluster.kubectl("set", "image", "deployment/web", "-n", SHOP, f"app={image['image']}-alpine")
    revisions_url = f"/c/demo/ns/{SHOP}/deployment/web/revisions/"

    def undo_buttons() -> list[str]:
        sync_once(imp_cluster, ["Deployment", "ReplicaSet"])
        return re.findall(r"<button[^>]*>Undo to [^<]*</button>", alice.get(revisions_url).content.decode())

    offered = wait_for(lambda: undo_buttons(), what="a revision to undo to")
    assert all("disabled" not in b for b in offered), offered  # alice may patch deployments in imp-shop
    assert (
        f'href="/c/demo/ns/{SHOP}/deployment/web/yaml/edit/"'
        in alice.get(f"/c/demo/ns/{SHOP}/deployment/web/edit/").content.decode()
    )

    # The cluster admin takes "patch deployments" away from the Role dev.
    imp_target.cluster.kubectl(
        "patch", "role", "dev", "-n", SHOP, "--type=json", "-p", '[{"op": "remove", "path": "/rules/1"}]'
    )
    cache.clear()  # what the cluster said a moment ago (the cache time is tested in test_a_role_change_...)
    try:
        reason = f"alice (groups: dev, editor) may not patch deployments in {SHOP}"
        buttons = undo_buttons()
        assert buttons and all(f'disabled title="{reason}"' in b for b in buttons), buttons
        assert f'<small class="denied">{reason}</small>' in alice.get(revisions_url).content.decode()
        edit = alice.get(f"/c/demo/ns/{SHOP}/deployment/web/edit/").content.decode()
        assert "/yaml/edit/" not in edit
        assert f'<span class="tab" aria-disabled="true" title="{reason}">YAML</span>' in edit
        assert f'<p class="denied">{reason}</p>' in edit
    finally:
        rule = {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}
        patch = json.dumps([{"op": "add", "path": "/rules/1", "value": rule}])
        imp_target.cluster.kubectl("patch", "role", "dev", "-n", SHOP, "--type=json", "-p", patch)


def test_a_kind_the_person_may_not_list_is_hidden_and_the_page_says_why(
    imp_target: Target, imp_cluster: Cluster, alice: Client
) -> None:
    from django.core.cache import cache

    from workloads import identity
    from workloads.live import publish as live
    from workloads.live import subscriptions
    from workloads.models import Pod, Workload
    from workloads.sync.watcher import sync_once

    web = Workload.objects.get(cluster=imp_cluster, namespace=SHOP, name="web")

    def a_pod() -> Pod | None:
        sync_once(imp_cluster, ["Pod"])
        return Pod.objects.filter(cluster=imp_cluster, workload_uid=web.uid, deleted_at__isnull=True).first()

    pod = wait_for(a_pod, what="a Pod of web in the mirror")
    web_url, pods_url = f"/c/demo/ns/{SHOP}/deployment/web/", f"/c/demo/ns/{SHOP}/?kind=Pod"
    page = alice.get(web_url).content.decode()
    assert pod.name in page
    # The Role dev lists none of what the Around card reads: the card says so, and does not say "no Service".
    around = (
        f"alice (groups: dev, editor) may not list services, endpointslices, configmaps, secrets, "
        f"persistentvolumeclaims, horizontalpodautoscalers, poddisruptionbudgets in {SHOP}"
    )
    assert f'<p class="denied around-hidden">{around}</p>' in page
    assert "No Service selects these Pods." not in page
    assert f'<p class="denied pad">alice (groups: dev, editor) may not list events in {SHOP}</p>' in page
    assert pod.name in alice.get(pods_url).content.decode()
    assert alice.get(f"/c/demo/ns/{SHOP}/pods/{pod.name}/").status_code == 200
    assert f"/pods/{pod.name}/" in alice.get(f"/c/demo/workloads/?kind=Pod&q={pod.name}").content.decode()

    # The cluster admin takes "list pods" away from the Role dev; Deployments stay listed.
    imp_target.cluster.kubectl(
        "patch", "role", "dev", "-n", SHOP, "--type=json", "-p", '[{"op": "remove", "path": "/rules/2"}]'
    )
    cache.clear()  # what the cluster said a moment ago (the cache time is tested in tests/e2e/)
    try:
        reason = f"alice (groups: dev, editor) may not list pods in {SHOP}"
        page = alice.get(web_url).content.decode()
        assert pod.name not in page and f'<p class="denied pad">{reason}</p>' in page
        listed = alice.get(pods_url).content.decode()
        assert pod.name not in listed and reason in listed
        searched = alice.get(f"/c/demo/workloads/?kind=Pod&q={pod.name}").content.decode()
        assert f"/pods/{pod.name}/" not in searched  # (the search box still holds the name)
        assert ">web<" in alice.get(f"/c/demo/ns/{SHOP}/").content.decode()
        assert alice.get(f"/c/demo/ns/{SHOP}/pods/{pod.name}/").status_code == 404
        assert alice.get(f"/c/demo/ns/{SHOP}/pods/{pod.name}/yaml/").status_code == 404
        with identity.acting_user(User.objects.get(username="alice")):
            subscriptions.check_subscription(live.workload_group(imp_cluster.id, web.uid))
            with pytest.raises(subscriptions.Refused):
                subscriptions.check_subscription(live.pod_group(imp_cluster.id, pod.uid))
    finally:
        rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
        patch = json.dumps([{"op": "add", "path": "/rules/2", "value": rule}])
        imp_target.cluster.kubectl("patch", "role", "dev", "-n", SHOP, "--type=json", "-p", patch)
