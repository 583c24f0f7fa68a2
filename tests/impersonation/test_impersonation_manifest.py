"""Apply manifest as the signed-in person: what the cluster's RBAC refuses her is said per document, in the
pages' words, and nothing of the manifest is applied (see tests/support/impersonation.py: alice may patch
Deployments in imp-shop, and not touch ConfigMaps)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.impersonation import SHOP, Target
from workloads.edits import apply as edit_apply
from workloads.models import ChangeRecord, Cluster

pytestmark = pytest.mark.django_db

MANIFEST = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: imp-settings, namespace: {SHOP}}}
data: {{mode: fast}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {SHOP}, labels: {{touched: by-manifest}}}}
"""


def test_an_rbac_denial_is_shown_on_its_document_and_nothing_is_applied(
    imp_target: Target, imp_cluster: Cluster, alice: Client
) -> None:
    # Its generation, not its resourceVersion: the controllers keep writing the status of a Deployment just made.
    before = imp_target.cluster.get_json("deployment", "web", "-n", SHOP)["metadata"]["generation"]
    preview = alice.post("/c/demo/apply/", {"text": MANIFEST, "preview": "1"})

    assert preview.status_code == 422
    items = {i.kind: i for i in preview.context["items"]}
    assert items["ConfigMap"].error == f"alice (groups: dev, editor) may not get configmaps in {SHOP}"
    assert items["Deployment"].error == ""  # she may patch it: its dry run passed
    html = preview.content.decode()
    assert f"alice (groups: dev, editor) may not get configmaps in {SHOP}" in html
    assert "The cluster refuses document 1: nothing was applied." in html and 'name="apply"' not in html
    refused = ChangeRecord.objects.get(kind="ConfigMap", outcome=ChangeRecord.Outcome.REFUSED)
    assert refused.acted_as == "alice (groups: dev, editor)"

    # An apply (a page kept open while her rights changed) sends nothing either.
    applied = alice.post("/c/demo/apply/", {"apply": "1", "payload": edit_apply.seal(MANIFEST)})
    assert applied.status_code == 422 and "nothing was applied" in applied.content.decode()
    assert imp_target.cluster.kubectl("get", "configmap", "imp-settings", "-n", SHOP, "--ignore-not-found") == ""
    web = imp_target.cluster.get_json("deployment", "web", "-n", SHOP)["metadata"]
    assert web["generation"] == before and "touched" not in (web.get("labels") or {})
    assert not ChangeRecord.objects.filter(outcome=ChangeRecord.Outcome.APPLIED).exists()
