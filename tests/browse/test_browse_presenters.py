"""The pure logic behind the Browse pages: ages, status badges, Pod status text, template diffs, selectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import factories as f
from workloads.browse import presenters as p

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "delta,text",
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(minutes=5, seconds=30), "5m30s"),
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=3, minutes=5), "3h5m"),
        (timedelta(hours=30), "30h"),
        (timedelta(days=2, hours=3), "2d3h"),
        (timedelta(days=45), "45d"),
        (timedelta(days=800), "2y70d"),
    ],
)
def test_it_writes_ages_like_kubectl(delta: timedelta, text: str) -> None:
    assert p.age(NOW - delta, NOW) == text


def test_it_writes_a_dash_for_an_unknown_age() -> None:
    assert p.age(None, NOW) == "–"


def _tpl(image: str = "nginx:1.27", **container: object) -> dict:
    return f.pod_template({"app": "web"}, [f.container("web", image, **container)])


def test_it_names_the_image_difference_of_a_container() -> None:
    assert p.template_diff(_tpl("nginx:1.27"), _tpl("nginx:1.26")) == ["image of container web"]


def test_it_ignores_the_controllers_hash_labels() -> None:
    old = _tpl()
    old["metadata"]["labels"]["pod-template-hash"] = "abc"
    new = _tpl()
    new["metadata"]["labels"]["controller-revision-hash"] = "web-xyz"
    assert p.template_diff(new, old) == []


def test_it_names_every_kind_of_difference() -> None:
    current = _tpl(env=[{"name": "A", "value": "1"}], command=["a"], ports=[{"containerPort": 80}])
    other = _tpl(env=[{"name": "A", "value": "2"}], command=["b"], ports=[{"containerPort": 81}])
    other["metadata"]["labels"]["tier"] = "x"
    other["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    other["spec"]["initContainers"] = [f.container("init", "busybox")]
    diff = p.template_diff(current, other)
    assert "env of container web" in diff
    assert "command of container web" in diff
    assert "ports of container web" in diff
    assert "labels" in diff
    assert "volumes" in diff
    assert "extra init container init" in diff


@pytest.mark.parametrize(
    "raw,health",
    [
        (f.deployment_raw("w", "ns", _tpl(), replicas=3), "healthy"),
        (f.deployment_raw("w", "ns", _tpl(), replicas=3, updated=1, total=4), "progressing"),
        (f.deployment_raw("w", "ns", _tpl(), replicas=3, ready=1), "degraded"),
        (f.deployment_raw("w", "ns", _tpl(), replicas=3, paused=True), "paused"),
        (
            f.deployment_raw(
                "w",
                "ns",
                _tpl(),
                conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            ),
            "failed",
        ),
    ],
)
def test_it_badges_a_deployment(raw: dict, health: str) -> None:
    assert p.workload_status("Deployment", raw).health == health


def test_it_badges_jobs_and_cronjobs() -> None:
    tpl = _tpl()
    assert p.workload_status("Job", f.job_raw("j", "ns", tpl, complete=True)).health == "completed"
    assert p.workload_status("Job", f.job_raw("j", "ns", tpl, complete=False)).health == "progressing"
    failed = f.job_raw("j", "ns", tpl, complete=False)
    failed["status"]["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    assert p.workload_status("Job", failed).health == "failed"
    assert p.workload_status("CronJob", {"spec": {"suspend": True}}).health == "suspended"


def test_it_falls_back_to_the_row_columns_without_raw() -> None:
    assert p.workload_status("Deployment", {}, desired=3, ready=3, updated=3).health == "healthy"
    assert p.workload_status("Deployment", {}, desired=3, ready=1, updated=3).health == "degraded"


def test_it_writes_the_pod_status_like_kubectl() -> None:
    tpl = _tpl()
    assert p.pod_status_text(f.pod_raw("a", "ns", tpl)) == "Running"
    assert p.pod_status_text(f.pod_raw("a", "ns", tpl, waiting_reason="ImagePullBackOff")) == "ImagePullBackOff"
    crash = f.pod_raw("a", "ns", tpl, waiting_reason="CrashLoopBackOff", restarts=4)
    assert p.pod_status_text(crash) == "CrashLoopBackOff"
    init = f.pod_raw("a", "ns", {**tpl, "spec": {**tpl["spec"], "initContainers": [f.container("i", "busybox")]}})
    init["status"]["initContainerStatuses"][0]["state"] = {"running": {}}
    assert p.pod_status_text(init) == "Init:0/1"
    gone = f.pod_raw("a", "ns", tpl)
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert p.pod_status_text(gone) == "Terminating"


def test_it_shows_env_from_a_secret_as_a_reference() -> None:
    env = p.env_entries(
        {
            "env": [
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
                {"name": "API_TOKEN", "value": "hunter2"},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "MODE", "value": "prod"},
            ]
        }
    )
    assert [(e.name, e.value, e.reference) for e in env] == [
        ("DB_PASSWORD", "", "secret db-creds key password"),
        ("API_TOKEN", p.HIDDEN, ""),
        ("NODE", "", "field spec.nodeName"),
        ("MODE", "prod", ""),
    ]


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("app=web,tier!=db", [("app", "=", ["web"]), ("tier", "!=", ["db"])]),
        ("env in (a, b),!legacy", [("env", "in", ["a", "b"]), ("legacy", "!exists", [])]),
        ("app.kubernetes.io/name==web,team", [("app.kubernetes.io/name", "=", ["web"]), ("team", "exists", [])]),
    ],
)
def test_it_parses_label_selectors(text: str, parsed: list) -> None:
    assert p.parse_label_selector(text) == parsed


def test_it_refuses_a_bad_label_selector() -> None:
    with pytest.raises(p.SelectorError):
        p.parse_label_selector("app=<script>")


def test_the_tree_draws_what_stands_around_as_a_bounded_second_ring() -> None:
    ring = [p.RingItem("ConfigMap", "web-config", "not found", "", "box-failed")]
    ring += [p.RingItem("Service", f"svc-{i}", "1 of 1 ready", f"/svc/{i}/") for i in range(11)]
    tree = p.ownership_tree(
        root_kind="Deployment",
        root_name="web",
        root_css="healthy",
        groups=[],
        pod_url=str,
        revision_url=str,
        around=ring,
    )
    around = [b for b in tree.boxes if b.kind != "Deployment"]
    assert len(around) == p.AROUND_IN_TREE == len(tree.around_edges)
    assert (around[0].label, around[0].css, around[0].sub) == ("web-config", "box-failed", "not found")
    assert [text for _, _, text in tree.notes if "around" in text] == ["+4 more around it"]
    root = next(b for b in tree.boxes if b.kind == "Deployment")
    assert all(b.x + b.w < root.x for b in around)  # on the root's left, clear of it
    assert tree.height >= max(b.y + b.h for b in around)

    alone = p.ownership_tree(
        root_kind="Deployment", root_name="web", root_css="healthy", groups=[], pod_url=str, revision_url=str
    )
    assert [b.kind for b in alone.boxes] == ["Deployment"] and not alone.around_edges and alone.boxes[0].x == 10
