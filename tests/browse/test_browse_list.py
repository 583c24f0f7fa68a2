"""The workloads list: filters, label selectors, search, sort, pagination, and a bounded number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.support import factories as f
from workloads.models import Pod

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


def _names(html: str) -> list[str]:
    return re.findall(r'<tr id="workload-[^"]+"[^>]*>\s*<td><a href="[^"]+"><strong>([^<]+)</strong>', html)


@pytest.fixture
def cluster() -> object:
    c = f.make_cluster()
    f.make_namespace(c, "shop")
    f.make_namespace(c, "data")
    f.make_deployment(c, "shop", "web", labels={"app": "web", "tier": "front"})
    f.make_deployment(c, "shop", "api", labels={"app": "api", "tier": "back"})
    f.make_deployment(c, "shop", "worker", labels={"app": "worker"})
    f.make_statefulset(c, "data", "db")
    return c


def test_it_lists_every_namespace_of_a_cluster(viewer_client: Client, cluster: object) -> None:
    assert _names(viewer_client.get("/c/demo/workloads/").content.decode()) == ["db", "api", "web", "worker"]


def test_it_filters_by_namespace_and_kind(viewer_client: Client, cluster: object) -> None:
    assert _names(viewer_client.get("/c/demo/workloads/?namespace=data").content.decode()) == ["db"]
    assert _names(viewer_client.get("/c/demo/workloads/?kind=StatefulSet").content.decode()) == ["db"]


@pytest.mark.parametrize(
    "selector,names",
    [
        ("app=web", ["web"]),
        ("tier!=front", ["api", "worker"]),
        ("tier in (front,back)", ["api", "web"]),
        ("tier", ["api", "web"]),
        ("!tier", ["worker"]),
        ("app=web,tier=back", []),
    ],
)
def test_it_filters_by_label_selector(viewer_client: Client, cluster: object, selector: str, names: list) -> None:
    assert _names(viewer_client.get("/c/demo/ns/shop/", {"label": selector}).content.decode()) == names


def test_it_explains_a_bad_selector(viewer_client: Client, cluster: object) -> None:
    html = viewer_client.get("/c/demo/ns/shop/", {"label": "app=(x"}).content.decode()
    assert "Not a label selector" in html


def test_it_searches_names_and_images(viewer_client: Client, cluster: object) -> None:
    assert _names(viewer_client.get("/c/demo/ns/shop/?q=wor").content.decode()) == ["worker"]
    assert _names(viewer_client.get("/c/demo/workloads/?q=postgres").content.decode()) == ["db"]


def test_it_sorts(viewer_client: Client, cluster: object) -> None:
    assert _names(viewer_client.get("/c/demo/ns/shop/?sort=-name").content.decode()) == ["worker", "web", "api"]
    assert _names(viewer_client.get("/c/demo/workloads/?sort=kind").content.decode())[-1] == "db"


def test_it_lists_pods_with_the_pod_kind(viewer_client: Client, cluster: object) -> None:
    f.docs_nginx_pod(cluster, "shop")
    html = viewer_client.get("/c/demo/ns/shop/?kind=Pod").content.decode()
    assert "nginx" in html and 'class="pod-row' in html


def test_it_paginates_on_the_server(viewer_client: Client, cluster: object) -> None:
    for i in range(60):
        f.make_deployment(cluster, "bulk", f"svc-{i:03d}")
    first = viewer_client.get("/c/demo/workloads/?namespace=bulk").content.decode()
    assert len(_names(first)) == 50
    assert "Page 1 of 2" in first
    second = viewer_client.get("/c/demo/workloads/?namespace=bulk&page=2").content.decode()
    assert _names(second) == [f"svc-{i:03d}" for i in range(50, 60)]


def test_it_renders_the_table_partial_for_htmx(viewer_client: Client, cluster: object) -> None:
    response = viewer_client.get(
        "/c/demo/ns/shop/?q=web", headers={"HX-Request": "true", "HX-Target": "workload-table"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="workload-table"')
    assert _names(html) == ["web"]


def test_it_keeps_the_query_count_bounded(viewer_client: Client, django_assert_max_num_queries: object) -> None:
    c = f.make_cluster()
    f.make_namespace(c, "big")
    tpl = f.pod_template({"app": "x"}, [f.container("x", "x:1")])
    pods = []
    for i in range(120):
        d = f.make_deployment(c, "big", f"svc-{i:03d}", tpl)
        for j in range(5):
            pods.append(f.pod_row(c, f.pod_raw(f"svc-{i:03d}-{j}", "big", tpl), workload_uid=d.uid, save=False))
    Pod.objects.bulk_create(pods)
    with django_assert_max_num_queries(12):
        response = viewer_client.get("/c/demo/ns/big/")
    assert response.status_code == 200
    with django_assert_max_num_queries(12):
        assert viewer_client.get("/").status_code == 200
    with django_assert_max_num_queries(12):
        assert viewer_client.get("/c/demo/ns/big/?kind=Pod&page=3").status_code == 200


@pytest.mark.postgres
def test_the_pods_list_counts_live_pods_from_an_index(viewer_client: Client) -> None:
    """The paginator's count of a cluster's live Pods ("Page 1 of N") is read from an index, not by visiting rows:
    at 150k Pods that walk was most of the cluster-wide Pods list's time."""
    c = f.make_cluster()
    f.make_namespace(c, "big")
    tpl = f.pod_template({"app": "x"}, [f.container("x", "x:1")])
    for i in range(3):
        f.pod_row(c, f.pod_raw(f"x-{i}", "big", tpl))
    with CaptureQueriesContext(connection) as queries:
        html = viewer_client.get("/c/demo/workloads/?kind=Pod").content.decode()
    assert "x-2" in html
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"] and "workloads_pod" in q["sql"]]
    assert counts, "the Pods list ran no count of Pods"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Its planner picks by the table's statistics, which a three-row table does not have: the index is there,
            # first on the count's two columns, then on the sort the lists default to.
            index = connection.introspection.get_constraints(cursor, Pod._meta.db_table).get("pod_cluster_live")
            assert index and index["columns"] == ["cluster_id", "deleted_at", "namespace", "name"], index
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + counts[0])
            plan = " ".join(row[3] for row in cursor.fetchall())
            assert "COVERING INDEX pod_cluster_live" in plan, plan
