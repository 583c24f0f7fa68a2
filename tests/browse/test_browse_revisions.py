"""A workload's Pods, grouped by the template revision that made them: current first, outdated ones marked."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


def _groups(html: str) -> list[str]:
    return re.findall(r'class="revgroup (rev-[a-z]+)" id="revision-([^"]+)"', html)


def test_it_groups_a_deployment_mid_rollout_by_replicaset(viewer_client: Client) -> None:
    cluster = f.make_cluster()
    deploy, old_rs, new_rs, pods = f.rollout(cluster, "shop", "web", old_pods=2, new_pods=2)
    html = viewer_client.get("/c/demo/ns/shop/deployment/web/").content.decode()
    assert _groups(html) == [("rev-current", new_rs.uid), ("rev-outdated", old_rs.uid)]
    assert "differs from the current template in:" in html
    assert "<strong>image of container web</strong>" in html
    outdated = html.split(f'id="revision-{old_rs.uid}"')[1]
    assert all(p.name in outdated for p in pods if p.owner_uid == old_rs.uid)


def test_it_groups_statefulset_pods_by_controller_revision_name(viewer_client: Client) -> None:
    cluster = f.make_cluster()
    old_t = f.pod_template({"app": "db"}, [f.container("db", "postgres:15")])
    new_t = f.pod_template({"app": "db"}, [f.container("db", "postgres:16")])
    sts = f.make_statefulset(cluster, "data", "db", new_t, replicas=2)
    old = f.make_controller_revision(cluster, sts, old_t, revision=1, stateful=True)
    new = f.make_controller_revision(cluster, sts, new_t, revision=2, stateful=True)
    for i, (rev, tpl) in enumerate([(new, new_t), (old, old_t)]):
        labelled = {**tpl, "metadata": {"labels": {"app": "db", "controller-revision-hash": rev.name}}}
        f.make_pod(cluster, "data", f"db-{i}", labelled, owner=("StatefulSet", "db", sts.uid), workload_uid=sts.uid)
    html = viewer_client.get("/c/demo/ns/data/statefulset/db/").content.decode()
    assert _groups(html) == [("rev-current", new.uid), ("rev-outdated", old.uid)]
    assert "image of container db" in html


def test_it_groups_daemonset_pods_by_hash(viewer_client: Client) -> None:
    cluster = f.make_cluster()
    old_t = f.pod_template({"app": "agent"}, [f.container("agent", "fluent-bit:2")])
    new_t = f.pod_template({"app": "agent"}, [f.container("agent", "fluent-bit:3")])
    ds = f.make_daemonset(cluster, "infra", "agent", new_t)
    old = f.make_controller_revision(cluster, ds, old_t, revision=1, stateful=False)
    new = f.make_controller_revision(cluster, ds, new_t, revision=2, stateful=False)
    for i, (rev, tpl) in enumerate([(new, new_t), (old, old_t)]):
        labelled = {**tpl, "metadata": {"labels": {"app": "agent", "controller-revision-hash": rev.template_hash}}}
        f.make_pod(cluster, "infra", f"agent-{i}", labelled, owner=("DaemonSet", "agent", ds.uid), workload_uid=ds.uid)
    html = viewer_client.get("/c/demo/ns/infra/daemonset/agent/").content.decode()
    assert _groups(html) == [("rev-current", new.uid), ("rev-outdated", old.uid)]


def test_it_groups_cronjob_pods_by_job(viewer_client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    cluster = f.make_cluster()
    tpl = f.pod_template({"app": "report"}, [f.container("report", "busybox:1.36", command=["date"])])
    cron = f.make_cronjob(cluster, "batch", "report", tpl)
    old_tpl = f.pod_template({"app": "report"}, [f.container("report", "busybox:1.35", command=["date"])])
    older = f.make_job(cluster, "batch", "report-1", old_tpl, owner=cron, created=timezone.now() - timedelta(hours=2))
    newer = f.make_job(cluster, "batch", "report-2", tpl, owner=cron, created=timezone.now() - timedelta(minutes=5))
    for job in (older, newer):
        f.make_pod(
            cluster,
            "batch",
            f"{job.name}-abcde",
            job.pod_template,
            owner=("Job", job.name, job.uid),
            workload_uid=cron.uid,
            phase="Succeeded",
            ready=False,
        )
    html = viewer_client.get("/c/demo/ns/batch/cronjob/report/").content.decode()
    assert _groups(html) == [("rev-current", newer.uid), ("rev-outdated", older.uid)]
    assert "image of container report" in html
    # The ownership tree draws CronJob -> Jobs -> Pods.
    assert html.count('class="tdot dot-succeeded"') == 2


def test_it_collapses_long_pod_lists(viewer_client: Client) -> None:
    cluster = f.make_cluster()
    tpl = f.pod_template({"app": "agent"}, [f.container("agent", "fluent-bit:3")])
    ds = f.make_daemonset(cluster, "infra", "agent", tpl, nodes=40)
    rev = f.make_controller_revision(cluster, ds, tpl, revision=1, stateful=False)
    labelled = {**tpl, "metadata": {"labels": {"app": "agent", "controller-revision-hash": rev.template_hash}}}
    for i in range(40):
        f.make_pod(
            cluster, "infra", f"agent-{i:02d}", labelled, owner=("DaemonSet", "agent", ds.uid), workload_uid=ds.uid
        )
    html = viewer_client.get("/c/demo/ns/infra/daemonset/agent/").content.decode()
    assert html.count('class="pod-row') == 25
    assert "Show all 40 Pods" in html
    html = viewer_client.get("/c/demo/ns/infra/daemonset/agent/?pods=all").content.decode()
    assert html.count('class="pod-row') == 40


def test_it_renders_the_pods_partial_for_htmx(viewer_client: Client) -> None:
    cluster = f.make_cluster()
    deploy, *_ = f.rollout(cluster, "shop", "web")
    response = viewer_client.get(
        "/c/demo/ns/shop/deployment/web/", headers={"HX-Request": "true", "HX-Target": f"pods-{deploy.uid}"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith(f'<section id="pods-{deploy.uid}"')
    assert "<html" not in html
