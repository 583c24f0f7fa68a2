"""A person signs in with OpenID Connect through a real provider (oidc-provider on Node.js, on loopback), in
headless Chromium: the account is made on first sign-in with the roles its groups map to; a token for another
client, an expired token and a tampered state are refused with a clear message; logout ends the session here and at
the provider; a person whose groups give no role is signed in and told so."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import screenshot
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider, podium_settings
from tests.support.stack import AsgiServer, free_port, wait_for
from workloads.models import Cluster, OIDCIdentity

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALICE = {
    "preferred_username": "alice",
    "email": "alice@example.com",
    "name": "Alice",
    "groups": ["developers", "qa"],
}
BOB = {"preferred_username": "bob", "email": "bob@example.com", "name": "Bob"}


def start_sign_in(page: Page, podium_url: str, login: str) -> None:
    """From Podium's login page through the provider's login form; the provider then sends the browser back."""
    page.goto(f"{podium_url}/")
    expect(page).to_have_url(f"{podium_url}/login/?next=/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "whatever the provider asks")
    page.click("button[type=submit]")


def sign_in(page: Page, podium_url: str, login: str) -> None:
    start_sign_in(page, podium_url, login)
    page.wait_for_url(lambda url: url.startswith(podium_url) and "/login/" not in url and "/oidc/" not in url)


def provider_for(
    oidc_provider: Callable[..., OidcProvider], settings: object, live_server: object, **options: object
) -> OidcProvider:
    provider = oidc_provider(live_server.url, {"alice": dict(ALICE), "bob": dict(BOB)}, **options)
    podium_settings(settings, provider)
    return provider


def test_it_signs_in_a_new_person_with_the_role_of_their_groups(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider = provider_for(oidc_provider, settings, live_server)
    Cluster.objects.create(name="demo", status=Cluster.Status.CONNECTED)
    page.goto(f"{live_server.url}/login/")
    screenshot(page, "oidc-login")
    sign_in(page, live_server.url, "alice")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("region", name="Clusters").get_by_role("table")).to_contain_text("demo")
    expect(page.locator(".user")).to_have_text("alice")
    alice = User.objects.get(username="alice")
    assert alice.email == "alice@example.com"
    assert not alice.has_usable_password()
    assert sorted(alice.groups.values_list("name", flat=True)) == ["editor", "oidc:developers", "oidc:qa"]
    identity = OIDCIdentity.objects.get(user=alice)
    assert (identity.issuer, identity.subject, identity.groups) == (provider.issuer, "alice", ["developers", "qa"])
    screenshot(page, "oidc-signed-in")

    # Groups are synced on each sign-in: alice moved from developers to readers at the provider.
    provider.set_claims("alice", {**ALICE, "groups": ["readers"]})
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    sign_in(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert sorted(alice.groups.values_list("name", flat=True)) == ["oidc:readers", "viewer"]
    assert User.objects.filter(username="alice").count() == 1


def test_it_refuses_a_token_issued_for_another_client(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider_for(oidc_provider, settings, live_server, substituteIdToken={"clientId": "other-app"})
    start_sign_in(page, live_server.url, "alice")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator(".messages")).to_contain_text(
        "The ID token from Test IdP was issued for another application (audience 'other-app'), not for Podium "
        "(client id 'podium'); it is refused."
    )
    screenshot(page, "oidc-wrong-audience")
    assert not User.objects.filter(username="alice").exists()
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")


def test_it_refuses_an_expired_token(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    # The provider's clock is ten minutes behind: the ID token it signs (valid one minute) expired long ago.
    provider_for(oidc_provider, settings, live_server, clockOffsetSeconds=-600, idTokenTtl=60)
    start_sign_in(page, live_server.url, "alice")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator(".messages")).to_contain_text("The ID token from Test IdP has already expired")
    assert not User.objects.filter(username="alice").exists()
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")


def test_it_ignores_an_answer_whose_state_was_tampered_with(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider = provider_for(oidc_provider, settings, live_server)
    # The browser's way back to Podium (the login form's POST at the provider, then redirects) is followed by hand
    # up to the answer for Podium's callback, which is kept instead of being sent.
    answers: list[str] = []

    def follow_to_the_answer(route: Route) -> None:
        response = route.fetch(max_redirects=0)
        while response.status in (302, 303) and "/oidc/callback/" not in response.headers["location"]:
            response = page.request.get(urljoin(response.url, response.headers["location"]), max_redirects=0)
        answers.append(urljoin(response.url, response.headers["location"]))
        route.fulfill(status=200, content_type="text/plain", body="stopped before Podium's callback")

    page.route(lambda url: "/interaction/" in url and url.startswith(provider.issuer), follow_to_the_answer)
    start_sign_in(page, live_server.url, "alice")
    wait_for(lambda: answers, what="the provider's answer")
    expect(page.locator("body")).to_have_text("stopped before Podium's callback")
    answer = urlsplit(answers[0])
    query = {key: values[0] for key, values in parse_qs(answer.query).items()}
    assert query["code"] and query["state"]

    tampered = answer._replace(query=urlencode({**query, "state": query["state"][:-4] + "AAAA"})).geturl()
    page.goto(tampered)
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator(".messages")).to_contain_text("its state does not match")
    assert not User.objects.filter(username="alice").exists()

    # The untouched answer still signs alice in: only the tampered one was refused.
    page.goto(answers[0])
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".user")).to_have_text("alice")


def test_it_logs_out_here_and_at_the_provider(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider = provider_for(oidc_provider, settings, live_server)
    sign_in(page, live_server.url, "alice")
    expect(page.locator(".user")).to_have_text("alice")

    page.get_by_role("button", name="Log out").click()
    # Podium's logout form led (through its Content-Security-Policy's form-action) to the provider's end of session.
    page.wait_for_url(lambda url: url.startswith(f"{provider.issuer}/session/end"))
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")

    # The provider's session ended too: signing in asks for the login again instead of passing straight through.
    page.get_by_role("link", name="Sign in with Test IdP").click()
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.url.startswith(provider.issuer)


def test_it_tells_a_person_whose_groups_give_no_role_that_they_have_none(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider_for(oidc_provider, settings, live_server)
    Cluster.objects.create(name="payments-prod", status=Cluster.Status.CONNECTED)
    sign_in(page, live_server.url, "bob")
    expect(page.locator(".messages")).to_contain_text(
        "You are signed in as bob, but your groups at Test IdP (none) give you no role in Podium"
    )
    expect(page.get_by_role("heading", name="You don't have access to this page")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("payments-prod")
    bob = User.objects.get(username="bob")
    assert list(bob.groups.all()) == []
    screenshot(page, "oidc-no-role")


def test_it_refreshes_the_session_when_the_id_token_expires(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider = provider_for(oidc_provider, settings, live_server, idTokenTtl=3)
    sign_in(page, live_server.url, "alice")
    alice = User.objects.get(username="alice")
    assert "editor" in alice.groups.values_list("name", flat=True)
    first_expiry = wait_for(lambda: _session_of(alice).get("oidc_expires_at"), what="the session's ID token expiry")

    provider.set_claims("alice", {**ALICE, "groups": ["readers"]})
    wait_for(lambda: time.time() > first_expiry + 1, timeout=10, what="the ID token to expire")
    page.reload()
    # Still signed in, on fresh tokens, with the groups the provider gives now.
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".user")).to_have_text("alice")
    assert sorted(alice.groups.values_list("name", flat=True)) == ["oidc:readers", "viewer"]
    assert _session_of(alice)["oidc_expires_at"] > first_expiry


def test_it_ends_the_session_with_the_id_token_when_there_is_no_refresh_token(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    # Long enough for the sign-in to land on the overview on a busy machine, short enough to wait for.
    provider_for(oidc_provider, settings, live_server, idTokenTtl=8, refresh_tokens=False)
    sign_in(page, live_server.url, "alice")
    alice = User.objects.get(username="alice")
    expiry = wait_for(lambda: _session_of(alice).get("oidc_expires_at"), what="the session's ID token expiry")
    wait_for(lambda: time.time() > expiry + 1, timeout=15, what="the ID token to expire")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    assert _session_of(alice) == {}


def test_it_says_so_when_the_person_cancels_at_the_provider(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider_for(oidc_provider, settings, live_server)
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.get_by_role("link", name="[ Cancel ]").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    # The provider's own words (error_description of its access_denied).
    expect(page.locator(".messages")).to_have_text(
        "Signing in with Test IdP failed: Test IdP answered: End-User aborted interaction"
    )
    assert not User.objects.exists()


def test_it_will_not_hand_a_password_account_to_the_provider(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider]
) -> None:
    provider_for(oidc_provider, settings, live_server)
    User.objects.create_user("alice", "alice@old.example.com", "correct horse battery staple")
    start_sign_in(page, live_server.url, "alice")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator(".messages")).to_contain_text(
        "A Podium account named 'alice' already exists and is not linked to Test IdP"
    )
    alice = User.objects.get(username="alice")
    assert alice.email == "alice@old.example.com" and alice.has_usable_password()
    assert not OIDCIdentity.objects.exists()


def test_it_still_throttles_passwords_without_blocking_sign_in_with_the_provider(
    page: Page, live_server: object, settings: object, oidc_provider: Callable[..., OidcProvider], viewer: User
) -> None:
    provider_for(oidc_provider, settings, live_server)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", viewer.username)
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()

    sign_in(page, live_server.url, "alice")
    expect(page.locator(".user")).to_have_text("alice")
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [viewer.username]

    # The lock on the password form holds, the right password included.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", viewer.username)
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()


def _session_of(user: User) -> dict[str, object]:
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        data = session.get_decoded()
        if data.get("_auth_user_id") == str(user.pk):
            return data
    return {}


def test_an_open_live_page_stops_when_the_id_token_expires(
    page: Page, tmp_path: Path, oidc_provider: Callable[..., OidcProvider]
) -> None:
    # Through the ASGI server (the live socket), told of the provider as the PODIUM_OIDC_* variables tell it.
    port = free_port()
    podium_url = f"http://127.0.0.1:{port}"
    provider = oidc_provider(podium_url, {"alice": dict(ALICE)}, idTokenTtl=8, refresh_tokens=False)
    Cluster.objects.create(name="demo", status=Cluster.Status.CONNECTED)
    server = AsgiServer(
        tmp_path,
        port=port,
        PODIUM_OIDC_ISSUER=provider.issuer,
        PODIUM_OIDC_CLIENT_ID=CLIENT_ID,
        PODIUM_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        PODIUM_OIDC_SCOPES="openid email profile groups",
        PODIUM_OIDC_PROVIDER_NAME="Test IdP",
        PODIUM_OIDC_ROLE_MAP="developers=editor",
        PODIUM_LIVE_RECHECK_SECONDS="1",
    ).start()
    try:
        sign_in(page, podium_url, "alice")
        expiry = wait_for(
            lambda: _session_of(User.objects.get(username="alice")).get("oidc_expires_at"), what="the token's expiry"
        )
        indicator = page.locator("#live-indicator")
        expect(indicator).to_have_attribute("data-state", "live")
        assert time.time() < expiry  # live while the sign-in lasts

        # No page request meanwhile: the socket itself notices, and the page stops saying it is live.
        expect(indicator).to_have_attribute("data-state", "offline", timeout=(expiry - time.time() + 15) * 1000)
        assert time.time() >= expiry
        page.reload()
        expect(page).to_have_url(re.compile(r"/login/"))
    finally:
        server.stop()
