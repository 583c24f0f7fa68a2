"""Production settings are the same settings.py with production environment variables: Django's deploy
checks pass, the kubelet's probes (as the web Deployment sends them) answer, and pages render with the
static files collected as the image collects them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.support.democlusters import REPO, deploy_manifest
from tests.support.production import production_env, run_python


def test_it_passes_the_deploy_checks_with_production_environment(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The one silenced: security.W021, HSTS preload, which is only sent when asked for (SECURE_HSTS_PRELOAD).
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_it_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_warns_when_the_built_in_development_key_is_in_use(tmp_path: Path) -> None:
    env = production_env(tmp_path, PODIUM_DEV="true")
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


# Run in a fresh interpreter with the production environment: Django's test client asks for each
# (path, headers) and prints the status codes as JSON.
PROBE = """
import json, os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
django.setup()
from django.test import Client
client = Client()
print(json.dumps([client.get(path, headers=headers).status_code for path, headers in json.loads(sys.argv[1])]))
"""


def test_it_answers_the_web_deployments_probes_with_the_config_maps_settings(tmp_path: Path) -> None:
    (container,) = deploy_manifest("Deployment", "podium-web")["spec"]["template"]["spec"]["containers"]
    probes = [
        (probe["httpGet"]["path"], {h["name"]: h["value"] for h in probe["httpGet"].get("httpHeaders", [])})
        for probe in (container["readinessProbe"], container["livenessProbe"])
    ]
    env = production_env(
        tmp_path,
        **deploy_manifest("ConfigMap", "podium-config")["data"],
        # /readyz asks the database and Redis: give it ones that answer.
        DATABASE_URL=f"sqlite:///{tmp_path / 'podium.sqlite3'}",
        REDIS_URL=settings.REDIS_URL,
    )
    env.update(HOME=str(tmp_path), PODIUM_VAR_DIR=str(tmp_path / "var"))
    # Why the probes carry headers: the Pod's IP is no allowed host (400), plain HTTP is redirected (301).
    without_headers = [("/healthz", {}), ("/healthz", {"Host": "localhost"})]

    result = run_python(PROBE, env, json.dumps(probes + without_headers))

    assert result.returncode == 0, result.stderr
    assert [path for path, _ in probes] == ["/readyz", "/healthz"]
    assert json.loads(result.stdout) == [200, 200, 400, 301]


RENDER = """
import os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
settings.STATIC_ROOT = os.environ["TEST_STATIC_ROOT"]  # the image collects into /app/staticfiles
call_command("collectstatic", "--no-input", verbosity=0)
call_command("migrate", "--no-input", verbosity=0)
response = Client().get("/login/", headers={"Host": "podium.example.com", "X-Forwarded-Proto": "https"})
print(response.status_code)
"""


def test_it_renders_pages_with_static_files_collected_as_the_image_does(tmp_path: Path) -> None:
    env = production_env(
        tmp_path,
        TEST_STATIC_ROOT=str(tmp_path / "staticfiles"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'podium.sqlite3'}",
    )
    result = run_python(RENDER, env)
    assert result.returncode == 0, result.stderr
    # A {% static %} path that collectstatic did not collect is a 500 on every page in production.
    assert result.stdout.strip() == "200", result.stderr[-3000:]
    assert list((tmp_path / "staticfiles").glob("podium/podium.*.css.gz"))
