"""Requests a person did not make from a Podium page never write audit rows in their name: a POST without a valid
CSRF token is a refused request (nobody's attempt), and previews are POSTs, so that a link from elsewhere neither
runs a dry run nor records one."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.support.edit import EditCluster
from workloads.models import ChangeRecord, Cluster

pytestmark = pytest.mark.django_db


def action_url(name: str, action: str) -> str:
    return f"/c/demo/ns/default/deployment/{name}/actions/{action}/"


def test_a_post_without_csrf_is_a_refused_request_not_the_persons_attempt(
    editor: User, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    forged = Client(enforce_csrf_checks=True)  # a cross-site form riding the editor's session cookie
    forged.force_login(editor)
    response = forged.post(action_url(deployment, "scale"), {"replicas": "7"})
    assert response.status_code == 403
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 2
    [row] = ChangeRecord.objects.all()
    assert row.user is None and row.action == "refused-request" and row.outcome == "refused"
    assert row.name == action_url(deployment, "scale")
    assert "CSRF check failed" in row.message and "not counted as theirs" in row.message
    assert not ChangeRecord.objects.filter(user=editor).exists()

    # The audit page does not list it under the editor.
    page = Client()
    page.force_login(editor)
    mine = page.get("/audit/", {"user": editor.username}).content.decode()
    assert "No changes recorded." in mine


@pytest.mark.parametrize("action", ["restart", "undo"])
def test_a_preview_link_followed_from_elsewhere_runs_nothing_and_records_nothing(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster, action: str
) -> None:
    response = editor_client.get(action_url(deployment, action))
    assert response.status_code == 405
    assert not ChangeRecord.objects.exists()


def test_the_preview_buttons_are_forms_that_post(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    page = editor_client.get(f"/c/demo/ns/default/deployment/{deployment}/").content.decode()
    for action in ("restart", "undo"):
        opening = rf'<form method="post" action="{re.escape(action_url(deployment, action))}"[^>]*>'
        form = re.search(opening + "(.*?)</form>", page)
        assert form, f"no POST form for {action}"
        assert 'name="csrfmiddlewaretoken"' in form[1]
    preview = editor_client.post(action_url(deployment, "restart"))
    assert preview.status_code == 200
    assert [r.outcome for r in ChangeRecord.objects.filter(action="restart")] == ["previewed"]
    confirm = re.search(r'<form method="post" action="([^"]+)" class="actions">', preview.content.decode())
    assert confirm and confirm[1] == action_url(deployment, "restart")
