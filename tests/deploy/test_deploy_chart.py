"""deploy/helm/podium: the chart lints clean, its ClusterRole is the access table exactly, deploy/kubernetes/
is the chart rendered (one source), and its values do what values.yaml says. No cluster here: the chart in a
real API server is tests/deploy/test_deploy_helm.py."""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from realcluster.cluster import StartFailed, helm
from scripts import render_deploy
from workloads import kube

CHART = render_deploy.CHART


@pytest.fixture(scope="module")
def helm_home() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as home:
        yield Path(home)


def render(home: Path, *values: str, release: str = "podium", namespace: str = "podium") -> list[dict[str, Any]]:
    """The chart as `helm template` renders it, with `--set` values (`--set-json` for those given as "json:k=v")."""
    sets = [
        arg
        for value in values
        for arg in (("--set-json", value[5:]) if value.startswith("json:") else ("--set", value))
    ]
    out = helm("template", release, str(CHART), "--namespace", namespace, *sets, home=home).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def one(documents: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    return found


def granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_it_lints_clean_with_the_defaults_and_with_everything_on(helm_home: Path) -> None:
    for values in ([], ["ingress.enabled=true", "ingress.tlsSecretName=podium-tls", "networkPolicy.enabled=true"]):
        sets = [arg for value in values for arg in ("--set", value)]
        result = helm("lint", "--strict", str(CHART), *sets, home=helm_home)
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout, result.stdout


def test_its_cluster_role_grants_exactly_the_access_table(helm_home: Path) -> None:
    documents = render(helm_home)
    role = one(documents, "ClusterRole")
    assert granted(role) == kube.access_rules()
    assert role["rules"] == kube.cluster_role_rules()
    assert "aggregationRule" not in role
    # Generated, and in step with the table: a kind added to KINDS reaches the chart only through the script.
    assert (CHART / "files" / "rbac-rules.yaml").read_text() == render_deploy.rbac_rules_yaml()
    binding = one(documents, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "podium"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "podium", "namespace": "podium"}]


def test_the_plain_manifests_are_the_chart_rendered_with_its_defaults(helm_home: Path) -> None:
    for path, text in render_deploy.generated(helm_home).items():
        assert path.read_text() == text, f"{path} is stale: run .venv/bin/python scripts/render_deploy.py"
    written = {p.name for p in render_deploy.MANIFESTS.glob("*.yaml")}
    assert written == {"00-namespace.yaml", *render_deploy.FILES.values()}


def test_it_runs_the_image_and_replicas_it_is_given(helm_home: Path) -> None:
    documents = render(
        helm_home,
        "image.repository=registry.example.com/podium",
        "image.tag=0.2.0",
        "web.replicas=3",
        "worker.replicas=5",
    )
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == {
        "podium-web": 3,
        "podium-worker": 5,
        "podium-beat": 1,
    }
    for d in deployments.values():
        pod = d["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["image"] == "registry.example.com/podium:0.2.0"
    # Without a tag, the chart's appVersion.
    (web,) = [d for d in render(helm_home) if d["metadata"]["name"] == "podium-web" and d["kind"] == "Deployment"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == f"podium:{chart['appVersion']}"


def test_secrets_come_from_the_existing_secret_it_is_told_and_never_from_values(helm_home: Path) -> None:
    documents = render(helm_home, "existingSecret=vault-podium")
    for d in documents:
        if d["kind"] == "Deployment":
            for container in d["spec"]["template"]["spec"]["containers"]:
                refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
                assert refs == {
                    **{k: {"name": "vault-podium", "key": k} for k in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")},
                    # Only when the Secret has it: sign-in with OpenID Connect is optional.
                    "PODIUM_OIDC_CLIENT_SECRET": {
                        "name": "vault-podium",
                        "key": "PODIUM_OIDC_CLIENT_SECRET",
                        "optional": True,
                    },
                }
    assert not [d for d in documents if d["kind"] == "Secret"]
    with pytest.raises(StartFailed, match="settings.DATABASE_URL is a secret: it belongs in the Secret"):
        render(helm_home, "settings.DATABASE_URL=postgres://podium:hunter2@db/podium")
    with pytest.raises(StartFailed, match="settings.PODIUM_OIDC_CLIENT_SECRET is a secret: it belongs in the Secret"):
        render(helm_home, "settings.PODIUM_OIDC_CLIENT_SECRET=hunter2")
    with pytest.raises(StartFailed, match="settings.ALLOWED_HOSTS is set by the chart; use the value allowedHosts"):
        render(helm_home, "settings.ALLOWED_HOSTS=example.org")


def test_allowed_hosts_take_the_ingress_host_and_no_ingress_is_the_default(helm_home: Path) -> None:
    defaults = render(helm_home)
    assert not [d for d in defaults if d["kind"] in {"Ingress", "NetworkPolicy"}]
    assert one(defaults, "ConfigMap")["data"]["ALLOWED_HOSTS"] == "podium.example.com,localhost"

    documents = render(
        helm_home,
        "allowedHosts={podium.internal}",
        "ingress.enabled=true",
        "ingress.host=podium.example.org",
        "ingress.className=nginx",
        "ingress.tlsSecretName=podium-tls",
    )
    config = one(documents, "ConfigMap")["data"]
    assert config["ALLOWED_HOSTS"] == "podium.internal,podium.example.org,localhost"
    assert config["CSRF_TRUSTED_ORIGINS"] == "https://podium.internal,https://podium.example.org"
    ingress = one(documents, "Ingress")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"hosts": ["podium.example.org"], "secretName": "podium-tls"}]
    (rule,) = ingress["rules"]
    assert rule["host"] == "podium.example.org"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "podium-web", "port": {"name": "http"}}}


def test_plain_http_turns_every_tls_proxy_setting_off_together(helm_home: Path) -> None:
    config = one(render(helm_home, "behindTlsProxy=false", "allowedHosts={127.0.0.1}"), "ConfigMap")["data"]
    assert {k: config[k] for k in ("BEHIND_TLS_PROXY", "SECURE_SSL_REDIRECT", "SECURE_COOKIES")} == dict.fromkeys(
        ("BEHIND_TLS_PROXY", "SECURE_SSL_REDIRECT", "SECURE_COOKIES"), "false"
    )
    assert config["SECURE_HSTS_SECONDS"] == "0"
    assert config["CSRF_TRUSTED_ORIGINS"] == "http://127.0.0.1"


def test_a_settings_change_rolls_the_pods_as_a_new_image_would(helm_home: Path) -> None:
    def checksums(*values: str) -> set[str]:
        return {
            d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for d in render(helm_home, *values)
            if d["kind"] == "Deployment"
        }

    (before,) = checksums()
    (after,) = checksums("settings.LOG_LEVEL=DEBUG")
    assert before != after


def test_the_network_policy_lets_only_the_web_port_in(helm_home: Path) -> None:
    documents = render(
        helm_home,
        "networkPolicy.enabled=true",
        "networkPolicy.from[0].namespaceSelector.matchLabels.name=ingress-nginx",
    )
    web = one(documents, "NetworkPolicy", "podium-web")["spec"]
    assert web["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert web["ingress"] == [
        {
            "ports": [{"port": "http", "protocol": "TCP"}],
            "from": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}],
        }
    ]
    rest = one(documents, "NetworkPolicy", "podium-no-ingress")["spec"]
    assert rest["policyTypes"] == ["Ingress"] and "ingress" not in rest


def test_another_release_name_names_everything_after_it(helm_home: Path) -> None:
    documents = render(helm_home, release="ops", namespace="tools")
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("Deployment", "ops-podium-web") in names and ("ClusterRole", "ops-podium") in names
    binding = one(documents, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ops-podium", "namespace": "tools"}]
    web = one(documents, "Deployment", "ops-podium-web")
    assert web["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "ops"
    assert web["spec"]["template"]["spec"]["serviceAccountName"] == "ops-podium"


def test_a_mistyped_value_is_refused_rather_than_ignored(helm_home: Path) -> None:
    with pytest.raises(StartFailed, match="at '/web': additional properties 'replica' not allowed"):
        render(helm_home, "web.replica=3")
    with pytest.raises(StartFailed, match="at '/worker/replicas': got string, want integer"):
        render(helm_home, "worker.replicas=two")
    with pytest.raises(StartFailed, match="at '/allowedHosts/0': minLength: got 0, want 1"):
        render(helm_home, "allowedHosts={}")  # --set makes that [""]
    with pytest.raises(StartFailed, match="ingress.host: the Ingress needs a host"):
        render(helm_home, "ingress.enabled=true", "json:allowedHosts=[]")


def test_the_readmes_install_line_renders_what_it_promises(helm_home: Path) -> None:
    readme = (render_deploy.ROOT / "README.md").read_text()
    (line,) = [line for line in readme.splitlines() if line.startswith("helm install podium deploy/helm/podium ")]
    args = shlex.split(line)[2:]  # as `helm template`, which takes the same flags but --create-namespace
    args = [render_deploy.ROOT / a if a == "deploy/helm/podium" else a for a in args if a != "--create-namespace"]
    documents = [d for d in yaml.safe_load_all(helm("template", *map(str, args), home=helm_home).stdout) if d]
    (rule,) = one(documents, "Ingress")["spec"]["rules"]
    assert rule["host"] == "podium.example.com"
    web = one(documents, "Deployment", "podium-web")
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (
        web["spec"]["template"]["spec"]["containers"][0]["image"]
        == f"registry.example.com/podium:{chart['appVersion']}"
    )
    assert web["metadata"]["namespace"] == "podium"
