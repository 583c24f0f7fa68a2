"""The demo cluster a newcomer sees: every kind, the Kubernetes docs' examples, and a stuck rollout.

Everything is created as a manifest through ``store.create`` (so API defaulting applies); the
controllers and the kubelet do the rest. The stuck rollout is the one exception that needs time:
its first revision is created healthy, and its template is switched to a bad image once that
revision is available (see ``break_rollout``).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from democluster.config import SimConfig
from democluster.resources import (
    CONFIGMAPS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NAMESPACES,
    PODS,
    SECRETS,
    SERVICES,
    STATEFULSETS,
    Resource,
)
from democluster.store import Obj, Store, clone

NAMESPACES_USED = ("demo", "shop", "batch")
STUCK = ("shop", "checkout")
STUCK_IMAGE = "ghcr.io/podium-demo/checkout:v2-typo"


def container(name: str, image: str, port: int | None = None, **extra: Any) -> Obj:
    c: Obj = {"name": name, "image": image}
    if port:
        c["ports"] = [{"containerPort": port}]
    c.update(extra)
    return c


def deployment(namespace: str, name: str, replicas: int, containers: list[Obj], **spec: Any) -> Obj:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
            **spec,
        },
    }


def service(namespace: str, name: str, port: int, target: int) -> Obj:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": target}]},
    }


def manifests() -> list[tuple[Resource, Obj]]:
    objs: list[tuple[Resource, Obj]] = []
    for ns in NAMESPACES_USED:
        objs.append((NAMESPACES, {"metadata": {"name": ns}}))

    # default: the examples from the Kubernetes docs (Pods, and "Jobs" in Concepts > Workloads).
    objs.append(
        (
            PODS,
            {
                "metadata": {"name": "nginx", "namespace": "default"},
                "spec": {"containers": [container("nginx", "nginx:1.14.2", 80)]},
            },
        )
    )
    objs.append(
        (
            JOBS,
            {
                "metadata": {"name": "hello", "namespace": "default"},
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                container(
                                    "hello",
                                    "busybox:1.28",
                                    command=["sh", "-c", 'echo "Hello, Kubernetes!" && sleep 3600'],
                                )
                            ],
                            "restartPolicy": "OnFailure",
                        }
                    }
                },
            },
        )
    )

    # demo: a healthy web tier, its config, a StatefulSet and a node agent.
    objs.append(
        (
            CONFIGMAPS,
            {
                "metadata": {"name": "web-config", "namespace": "demo"},
                "data": {"LOG_LEVEL": "info", "GREETING": "hello from democluster"},
            },
        )
    )
    # The Secrets the templates read (placeholder values: Podium only ever sees their names and keys).
    for name, key in (("web-secrets", "api-token"), ("db-secrets", "password")):
        objs.append(
            (
                SECRETS,
                {
                    "metadata": {"name": name, "namespace": "demo"},
                    "type": "Opaque",
                    "data": {key: base64.b64encode(f"demo-{key}".encode()).decode()},
                },
            )
        )
    objs.append(
        (
            DEPLOYMENTS,
            deployment(
                "demo",
                "web",
                3,
                [
                    container(
                        "web",
                        "nginx:1.25.3",
                        80,
                        envFrom=[{"configMapRef": {"name": "web-config"}}],
                        env=[
                            {
                                "name": "API_TOKEN",
                                "valueFrom": {"secretKeyRef": {"name": "web-secrets", "key": "api-token"}},
                            },
                            {
                                "name": "LOG_LEVEL",
                                "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "LOG_LEVEL"}},
                            },
                        ],
                        resources={"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                        readinessProbe={"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 2},
                    )
                ],
            ),
        )
    )
    objs.append((SERVICES, service("demo", "web", 80, 80)))
    objs.append(
        (
            DEPLOYMENTS,
            deployment(
                "demo",
                "api",
                2,
                [container("api", "ghcr.io/podium-demo/api:1.4.0", 8080)],
                strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                minReadySeconds=5,
            ),
        )
    )
    objs.append((SERVICES, service("demo", "api", 8080, 8080)))
    objs.append(
        (
            PODS,
            {
                "metadata": {"name": "two-containers", "namespace": "demo", "labels": {"app": "two-containers"}},
                "spec": {
                    "initContainers": [
                        container(
                            "init-content",
                            "busybox:1.36",
                            command=["sh", "-c", "echo '<h1>hello</h1>' > /work-dir/index.html && sleep 2"],
                            volumeMounts=[{"name": "shared-data", "mountPath": "/work-dir"}],
                        )
                    ],
                    "containers": [
                        container(
                            "nginx",
                            "nginx:1.25.3",
                            80,
                            volumeMounts=[{"name": "shared-data", "mountPath": "/usr/share/nginx/html"}],
                        ),
                        container(
                            "debian",
                            "debian:12",
                            command=["/bin/sh", "-c", "while true; do date >> /pod-data/index.html; sleep 5; done"],
                            volumeMounts=[{"name": "shared-data", "mountPath": "/pod-data"}],
                        ),
                    ],
                    "volumes": [{"name": "shared-data", "emptyDir": {}}],
                },
            },
        )
    )
    objs.append(
        (
            SERVICES,
            {
                "metadata": {"name": "db", "namespace": "demo", "labels": {"app": "db"}},
                "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]},
            },
        )
    )
    db_labels = {"app": "db"}
    objs.append(
        (
            STATEFULSETS,
            {
                "metadata": {"name": "db", "namespace": "demo", "labels": db_labels},
                "spec": {
                    "serviceName": "db",
                    "replicas": 3,
                    "selector": {"matchLabels": db_labels},
                    "template": {
                        "metadata": {"labels": db_labels},
                        "spec": {
                            "containers": [
                                container(
                                    "postgres",
                                    "postgres:16.2",
                                    5432,
                                    env=[
                                        {
                                            "name": "POSTGRES_PASSWORD",
                                            "valueFrom": {"secretKeyRef": {"name": "db-secrets", "key": "password"}},
                                        }
                                    ],
                                )
                            ]
                        },
                    },
                },
            },
        )
    )
    agent_labels = {"app": "node-agent"}
    objs.append(
        (
            DAEMONSETS,
            {
                "metadata": {"name": "node-agent", "namespace": "demo", "labels": agent_labels},
                "spec": {
                    "selector": {"matchLabels": agent_labels},
                    "template": {
                        "metadata": {"labels": agent_labels},
                        "spec": {
                            "containers": [
                                container(
                                    "agent",
                                    "fluent/fluent-bit:3.0.4",
                                    resources={"requests": {"cpu": "50m", "memory": "32Mi"}},
                                )
                            ]
                        },
                    },
                },
            },
        )
    )

    # shop: the storefront, and a checkout whose latest rollout is stuck on a bad image.
    objs.append((DEPLOYMENTS, deployment("shop", "storefront", 2, [container("web", "nginx:1.25.3", 80)])))
    objs.append((SERVICES, service("shop", "storefront", 80, 80)))
    objs.append(
        (
            DEPLOYMENTS,
            deployment(
                "shop",
                "checkout",
                3,
                [container("checkout", "ghcr.io/podium-demo/checkout:v1", 8080)],
                progressDeadlineSeconds=120,
            ),
        )
    )
    objs.append((SERVICES, service("shop", "checkout", 80, 8080)))

    # batch: a CronJob every minute.
    objs.append(
        (
            CRONJOBS,
            {
                "metadata": {"name": "report", "namespace": "batch"},
                "spec": {
                    "schedule": "*/1 * * * *",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "containers": [
                                        container(
                                            "report",
                                            "busybox:1.36",
                                            command=["sh", "-c", "date; echo building report; sleep 5"],
                                        )
                                    ],
                                    "restartPolicy": "OnFailure",
                                }
                            }
                        }
                    },
                },
            },
        )
    )
    return objs


def load_default(store: Store, config: SimConfig) -> None:
    """Create the demo objects (skipping any that exist), and schedule the stuck rollout's second revision."""
    for res, obj in manifests():
        m = obj["metadata"]
        if store.try_get(res, m.get("namespace"), m["name"]) is None:
            store.create(res, obj)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.create_task(break_rollout(store))


async def break_rollout(store: Store, timeout: float = 600.0) -> None:
    """Once checkout's first revision is available, roll it to an image that cannot be pulled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        d = store.try_get(DEPLOYMENTS, *STUCK)
        if d is None:
            return
        containers = d["spec"]["template"]["spec"]["containers"]
        if containers[0]["image"] == STUCK_IMAGE:
            return
        if (d.get("status") or {}).get("availableReplicas", 0) >= d["spec"].get("replicas", 1):
            new = clone(d)
            new["spec"]["template"]["spec"]["containers"][0]["image"] = STUCK_IMAGE
            store.update(DEPLOYMENTS, new)
            return
        await asyncio.sleep(0.2)
