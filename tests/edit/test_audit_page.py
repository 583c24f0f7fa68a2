"""The audit page shows every row, whatever a person typed into the names it keeps."""

from __future__ import annotations

from django.test import Client

from tests.support import factories as f
from workloads.edits import apply as edit_apply


def test_it_shows_rows_whose_names_no_page_can_have(viewer_client: Client, editor: object) -> None:
    cluster = f.make_cluster("demo")
    for namespace, name in (("default", "a/b"), ("team/x", "web"), ("default", ""), ("default", "web")):
        edit_apply.record(
            user=editor,
            cluster=cluster,
            action="preview-manifest",
            kind="Deployment",
            namespace=namespace,
            name=name,
            outcome="invalid",
        )
    response = viewer_client.get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Deployment default/a/b" in html and "Deployment team/x/web" in html
    urls = sorted(r.workload_url for r in response.context["page"])
    assert urls == ["", "", "", "/c/demo/ns/default/deployment/web/"]
