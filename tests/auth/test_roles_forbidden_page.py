"""A person without a role learns nothing about the clusters from the 403 page: no cluster or namespace names."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = pytest.mark.django_db


def test_it_shows_no_cluster_or_namespace_names_to_a_user_without_a_role(
    outsider_client: Client, viewer_client: Client
) -> None:
    cluster = f.make_cluster("payments-prod")
    f.make_namespace(cluster, "card-vault")
    f.make_deployment(cluster, "card-vault", "tokenizer")
    for url in ("/", "/c/payments-prod/workloads/", "/c/payments-prod/ns/card-vault/", "/audit/?cluster=payments-prod"):
        response = outsider_client.get(url)
        assert response.status_code == 403, url
        text = response.content.decode()
        assert "You don't have access to this page" in text
        assert "payments-prod" not in text and "card-vault" not in text, url

    # A viewer still gets the pickers.
    text = viewer_client.get("/c/payments-prod/ns/card-vault/").content.decode()
    assert '<option value="payments-prod" selected>' in text and '<option value="card-vault" selected>' in text
