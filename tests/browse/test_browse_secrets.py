"""Secret values are never shown: env from a Secret is a reference; literal values named like secrets are hidden."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

SECRET_VALUE = "s3cr3t-hunter2-value"


@pytest.fixture
def deploy() -> object:
    cluster = f.make_cluster()
    tpl = f.pod_template(
        {"app": "api"},
        [
            f.container(
                "api",
                "api:1",
                env=[
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
                    {"name": "API_TOKEN", "value": SECRET_VALUE},
                    {"name": "LOG_LEVEL", "value": "debug"},
                ],
                envFrom=[{"secretRef": {"name": "api-env"}}],
            )
        ],
    )
    last_applied = {"spec": {"template": tpl}}
    d = f.make_deployment(
        cluster,
        "shop",
        "api",
        tpl,
        annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps(last_applied)},
    )
    f.make_pod(cluster, "shop", "api-1", tpl, owner=("Deployment", "api", d.uid), workload_uid=d.uid)
    return d


@pytest.mark.parametrize(
    "path",
    [
        "/c/demo/ns/shop/deployment/api/",
        "/c/demo/ns/shop/deployment/api/yaml/",
        "/c/demo/ns/shop/pods/api-1/",
        "/c/demo/ns/shop/pods/api-1/yaml/",
    ],
)
def test_it_never_shows_a_secret_looking_value(viewer_client: Client, deploy: object, path: str) -> None:
    html = viewer_client.get(path).content.decode()
    assert SECRET_VALUE not in html


def test_it_shows_env_from_a_secret_as_a_reference(viewer_client: Client, deploy: object) -> None:
    html = viewer_client.get("/c/demo/ns/shop/deployment/api/").content.decode()
    assert "secret db-creds key password" in html
    assert "all keys of secret api-env" in html
    assert "debug" in html
