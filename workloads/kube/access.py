"""Asking the API server what the client's identity (with its impersonation headers) may do."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s_client

from workloads.kube.client import request_json

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"


def access_review(
    api: k8s_client.ApiClient,
    *,
    verb: str,
    group: str,
    resource: str,
    subresource: str = "",
    namespace: str = "",
    name: str = "",
) -> tuple[bool, str]:
    """A SelfSubjectAccessReview: (allowed, the authorizer's reason)."""
    attributes = {"verb": verb, "group": group, "resource": resource}
    for key, value in (("subresource", subresource), ("namespace", namespace), ("name", name)):
        if value:
            attributes[key] = value
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"}
    body["spec"] = {"resourceAttributes": attributes}  # type: ignore[assignment]
    status = request_json(api, "POST", SSAR, body=body).get("status") or {}
    return bool(status.get("allowed")), str(status.get("reason") or "")


def rules_review(api: k8s_client.ApiClient, *, namespace: str) -> list[dict[str, Any]]:
    """A SelfSubjectRulesReview: the resource rules the identity holds in ``namespace``."""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": namespace}}
    status = request_json(api, "POST", SSRR, body=body).get("status") or {}
    return list(status.get("resourceRules") or [])
