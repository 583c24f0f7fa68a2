"""The Pod page offers "Delete Pod" to editors only."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = pytest.mark.django_db


def _pod_url() -> str:
    cluster = f.make_cluster("demo")
    f.make_namespace(cluster, "default")
    f.docs_nginx_pod(cluster, "default")
    return "/c/demo/ns/default/pods/nginx/"


def test_it_offers_delete_to_an_editor(editor_client: Client) -> None:
    response = editor_client.get(_pod_url())
    assert response.status_code == 200
    assert b'href="/c/demo/ns/default/pods/nginx/delete/"' in response.content  # a confirmation page first
    assert b"nothing will replace it" in response.content  # a bare Pod


def test_it_hides_delete_from_a_viewer(viewer_client: Client) -> None:
    response = viewer_client.get(_pod_url())
    assert response.status_code == 200
    assert b"/delete/" not in response.content
