"""Sign-in with OpenID Connect, over HTTP: off unless configured, refused settings, a provider that does not answer
or names another issuer, and the Content-Security-Policy that lets the pages' forms lead to the provider."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.support.oidc import OidcProvider, podium_settings
from tests.support.stack import free_port

pytestmark = pytest.mark.django_db


def test_it_offers_no_provider_unless_one_is_configured(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_it_offers_the_provider_on_the_login_page(client: Client, settings: object) -> None:
    settings.PODIUM_OIDC_ISSUER = "https://login.example.com/realms/ops"
    settings.PODIUM_OIDC_CLIENT_ID = "podium"
    settings.PODIUM_OIDC_CLIENT_SECRET = "x"
    settings.PODIUM_OIDC_PROVIDER_NAME = "Example SSO"
    response = client.get("/login/?next=/audit/")
    page = response.content.decode()
    assert '<a class="button primary" href="/oidc/authenticate/?next=/audit/">Sign in with Example SSO</a>' in page
    # The password form stays; logout may lead to the provider (form-action), nothing else is opened.
    assert 'name="password"' in page
    policy = response.headers["Content-Security-Policy"]
    assert "form-action 'self' https://login.example.com" in policy
    assert "script-src 'self'" in policy


def test_it_says_so_when_the_provider_does_not_answer(client: Client, settings: object) -> None:
    settings.PODIUM_OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    settings.PODIUM_OIDC_CLIENT_ID = "podium"
    settings.PODIUM_OIDC_CLIENT_SECRET = "x"
    settings.PODIUM_OIDC_PROVIDER_NAME = "Example SSO"
    response = client.get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert "Signing in with Example SSO failed: Example SSO did not answer at http://127.0.0.1:" in (
        response.content.decode()
    )
    assert "oidc_states" not in client.session


def test_it_refuses_a_provider_that_names_another_issuer(
    client: Client, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider = oidc_provider("http://testserver", {})
    podium_settings(settings, provider)
    settings.PODIUM_OIDC_ISSUER = provider.issuer + "/"  # not exactly the provider's issuer
    response = client.get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert f"names the issuer &#x27;{provider.issuer}&#x27;, not &#x27;{provider.issuer}/&#x27;" in (
        response.content.decode()
    )


def test_it_starts_a_sign_in_with_state_nonce_and_pkce(
    client: Client, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider = oidc_provider("http://testserver", {})
    podium_settings(settings, provider)
    response = client.get("/oidc/authenticate/?next=/audit/")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{provider.issuer}/auth?")
    (state, stored), *_ = client.session["oidc_states"].items()
    assert f"state={state}" in location and f"nonce={stored['nonce']}" in location
    assert "code_challenge_method=S256" in location and "scope=openid+email+profile+groups" in location
    assert client.session["oidc_login_next"] == "/audit/"


def test_it_refuses_a_callback_that_no_sign_in_here_started(
    client: Client, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    podium_settings(settings, oidc_provider("http://testserver", {}))
    response = client.get("/oidc/callback/?code=abc&state=made-up", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert "its state does not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_OIDC_")}
    return subprocess.run(
        [sys.executable, "-c", "import dashboard.settings as s; print(s.PODIUM_OIDC_ROLE_MAP)"],
        env={**clean, "SECRET_KEY": "x", **env},
        capture_output=True,
        text=True,
    )


ISSUER = {"PODIUM_OIDC_ISSUER": "https://sso.example.com", "PODIUM_OIDC_CLIENT_ID": "podium"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PODIUM_OIDC_ISSUER": "sso.example.com"}, "PODIUM_OIDC_ISSUER must be a URL"),
        (ISSUER, "PODIUM_OIDC_CLIENT_ID and PODIUM_OIDC_CLIENT_SECRET must be too"),
        ({**ISSUER, "PODIUM_OIDC_CLIENT_SECRET": "s", "PODIUM_OIDC_SCOPES": "email"}, "must include openid"),
        ({"PODIUM_OIDC_ROLE_MAP": "ops=superuser"}, "'ops=superuser' must be <group from the claim>=<role>"),
        ({"PODIUM_OIDC_ROLE_MAP": "editor"}, "'editor' must be <group from the claim>=<role>"),
    ],
)
def test_it_refuses_to_start_with_bad_oidc_settings(env: dict[str, str], message: str) -> None:
    result = _settings_import(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_reads_the_role_map() -> None:
    result = _settings_import({"PODIUM_OIDC_ROLE_MAP": "k8s-devs=editor, ops=admin,ops=viewer,everyone=viewer"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'k8s-devs': ('editor',), 'ops': ('admin', 'viewer'), 'everyone': ('viewer',)}"


def test_it_sends_an_htmx_request_of_an_expired_session_to_the_login_page(
    viewer_client: Client, settings: object
) -> None:
    settings.PODIUM_OIDC_ISSUER = "https://sso.example.com"
    settings.PODIUM_OIDC_CLIENT_ID = "podium"
    settings.PODIUM_OIDC_CLIENT_SECRET = "x"
    session = viewer_client.session
    session["oidc_expires_at"] = int(time.time()) - 5  # the ID token expired and no refresh token was issued
    session.save()
    response = viewer_client.get("/c/demo/workloads/?page=2", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/login/?next=/c/demo/workloads/%3Fpage%3D2"
    assert "_auth_user_id" not in viewer_client.session
    assert viewer_client.get("/").status_code == 302


def test_it_leaves_a_password_session_alone(viewer_client: Client, settings: object) -> None:
    settings.PODIUM_OIDC_ISSUER = "https://sso.example.com"
    settings.PODIUM_OIDC_CLIENT_ID = "podium"
    settings.PODIUM_OIDC_CLIENT_SECRET = "x"
    assert viewer_client.get("/").status_code == 200


def test_it_ends_the_sessions_of_a_person_an_admin_deactivated(client: Client, editor: User, settings: object) -> None:
    settings.PODIUM_OIDC_ISSUER = "https://sso.example.com"
    settings.PODIUM_OIDC_CLIENT_ID = "podium"
    settings.PODIUM_OIDC_CLIENT_SECRET = "x"
    client.force_login(editor, backend="workloads.oidc.backend.OIDCBackend")
    assert client.get("/").status_code == 200
    User.objects.filter(pk=editor.pk).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


def test_a_person_signed_in_with_openid_connect_is_sent_to_clusters_with_the_providers_groups(
    editor: User, settings: object
) -> None:
    from django.contrib.auth.models import Group

    from workloads.identity import identity_for
    from workloads.models import OIDCIdentity

    settings.PODIUM_IMPERSONATE_GROUP_PREFIX = "podium:"
    assert identity_for(editor) == (editor.username, ["podium:editor"])  # a password account: its Django groups
    OIDCIdentity.objects.create(
        user=editor, issuer="https://id.example", subject="s-1", groups=["dev", "system:masters"]
    )
    editor.groups.add(Group.objects.create(name="oidc:dev"))
    editor = User.objects.get(pk=editor.pk)
    # The provider's groups, as a cluster admin binds them; never Podium's role names or its oidc: copies.
    assert identity_for(editor) == (editor.username, ["podium:dev", "podium:system:masters"])
    settings.PODIUM_IMPERSONATE_GROUP_PREFIX = ""
    assert identity_for(editor) == (editor.username, ["dev"])  # system: names are never sent
