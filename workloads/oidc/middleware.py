"""A session signed in with OpenID Connect lasts as long as its ID token: when that expires, Podium asks the provider
for fresh tokens with the refresh token (back-channel, so htmx requests are served too) and syncs the person's
groups again; without a refresh token, or when the provider refuses, the session ends and the person signs in again.

It also lets the pages' forms lead to the provider (logout redirects there), in the Content-Security-Policy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.contrib import auth, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from workloads.oidc.backend import OIDCBackend, SignInRefused, sync_user
from workloads.oidc.config import OIDCSettings, ProviderUnavailable, cached_discovery, discovery, oidc_settings

log = logging.getLogger(__name__)


class OIDCSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        config = oidc_settings()
        if config is None:
            return self.get_response(request)
        expires_at = request.session.get("oidc_expires_at")
        expired = expires_at is not None and time.time() >= expires_at and request.user.is_authenticated
        if expired and request.path != reverse("logout") and not refresh_session(request, config):
            return self.signed_out(request, config)
        response = self.get_response(request)
        origins = {config.origin}
        document = cached_discovery(config)
        if document and document.get("end_session_endpoint"):
            parts = urlsplit(document["end_session_endpoint"])
            origins.add(f"{parts.scheme}://{parts.netloc}")
        update = dict(getattr(response, "_csp_update", None) or {})
        update["form-action"] = [*update.get("form-action", []), *sorted(origins)]
        response._csp_update = update
        return response

    def signed_out(self, request: HttpRequest, config: OIDCSettings) -> HttpResponse:
        auth.logout(request)
        messages.info(
            request,
            _("Your sign-in with %(provider)s has expired. Sign in again.") % {"provider": config.provider_name},
        )
        response = redirect_to_login(request.get_full_path())
        if request.htmx:
            return HttpResponseClientRedirect(response.url)
        return response


def refresh_session(request: HttpRequest, config: OIDCSettings) -> bool:
    """Fresh tokens for this session from the refresh token, the person's groups synced from them; False when there
    is no refresh token or the provider (or its answer) refuses."""
    session = request.session
    refresh_token = session.get("oidc_refresh_token")
    if not refresh_token:
        return False
    backend = OIDCBackend()
    try:
        response = requests.post(
            discovery(config)["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": config.client_id,
                "client_secret": config.client_secret,
            },
            timeout=config.timeout,
        )
        if response.status_code != 200:
            log.info("OIDC refresh refused for %s: %s", request.user, response.text[:200])
            return False
        tokens: dict[str, Any] = response.json()
        claims: dict[str, Any] = {"sub": session.get("oidc_subject")}
        id_token = tokens.get("id_token")
        if id_token:
            claims = backend._verify_jws(id_token, backend.retrieve_matching_jwk(id_token))
            if claims["sub"] != session.get("oidc_subject"):
                raise SignInRefused("the refreshed ID token is about another person")
            expires_at = int(claims["exp"])
        else:
            expires_at = int(time.time()) + int(tokens.get("expires_in", 0))
        claims = backend.get_userinfo(tokens.get("access_token", ""), id_token or "", claims)
        user = sync_user(config, claims)
    except (requests.RequestException, ValueError, KeyError, ProviderUnavailable, SignInRefused) as exc:
        log.warning("OIDC refresh failed for %s: %s", request.user, exc)
        return False
    if user.pk != request.user.pk:
        return False
    session["oidc_id_token"] = id_token or session.get("oidc_id_token")
    session["oidc_refresh_token"] = tokens.get("refresh_token", refresh_token)
    session["oidc_expires_at"] = expires_at
    request.user = user
    return True
