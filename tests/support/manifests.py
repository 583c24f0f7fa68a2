"""Kubernetes objects that several tests apply, written once: a Namespace, a Deployment (the shop's web), and what
stands around a workload (its Service, a PodDisruptionBudget and a HorizontalPodAutoscaler). ``documents(...)`` is
the YAML ``kubectl apply -f -`` reads. A test adds what it alone needs to them, in its own words."""

from __future__ import annotations

from typing import Any

import yaml


def documents(*objects: dict[str, Any]) -> str:
    """The objects as one multi-document YAML, in this order (each document starts with ---, so that it can follow
    a YAML text)."""
    return yaml.safe_dump_all(objects, sort_keys=False, explicit_start=True)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def container(name: str, image: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


def deployment(
    name: str, namespace: str, *, replicas: int, containers: list[dict[str, Any]], **spec: Any
) -> dict[str, Any]:
    """Deployment ``name`` whose Pods are labelled ``app: name``; ``spec`` adds its other fields (a strategy)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            **spec,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
    }


def shop_web(*, replicas: int, **spec: Any) -> list[dict[str, Any]]:
    """The shop: Namespace shop and its Deployment web (nginx:1.25)."""
    return [
        namespace("shop"),
        deployment("web", "shop", replicas=replicas, containers=[container("web", "nginx:1.25")], **spec),
    ]


def around(name: str, namespace: str) -> list[dict[str, Any]]:
    """What stands around Deployment ``name``: its Service (port 80 to the container port named http), a
    PodDisruptionBudget that allows no disruption, and a HorizontalPodAutoscaler that keeps 2 to 4 replicas."""
    selector = {"app": name}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"maxUnavailable": 0, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 2,
                "maxReplicas": 4,
            },
        },
    ]
