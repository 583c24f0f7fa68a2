"""Sign-in with OpenID Connect: start (to the provider, with state, nonce and PKCE), the callback, and logout
(at the provider too, when it offers an end_session_endpoint)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from workloads.oidc.backend import SignInRefused, roles_for
from workloads.oidc.config import OIDCSettings, ProviderUnavailable, discovery, oidc_settings

log = logging.getLogger(__name__)


def _config_or_404() -> OIDCSettings:
    config = oidc_settings()
    if config is None:
        raise Http404("Sign-in with OpenID Connect is not configured.")
    return config


def _refused(request: HttpRequest, config: OIDCSettings, reason: str) -> HttpResponse:
    log.warning("OIDC sign-in refused: %s", reason)
    messages.error(
        request,
        _("Signing in with %(provider)s failed: %(reason)s") % {"provider": config.provider_name, "reason": reason},
    )
    return redirect("login")


class StartView(OIDCAuthenticationRequestView):
    def __init__(self, **kwargs: Any) -> None:
        # mozilla-django-oidc reads the endpoint here; Podium reads it from discovery in get(), where a provider
        # that does not answer is a message rather than a server error.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get_settings(self, attr: str, *default: Any) -> Any:  # type: ignore[override]
        config = _config_or_404()
        if attr == "OIDC_RP_SCOPES":
            return config.scopes
        return super().get_settings(attr, *default)

    def get(self, request: HttpRequest) -> HttpResponse:
        config = _config_or_404()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery(config)["authorization_endpoint"]
        except ProviderUnavailable as exc:
            return _refused(request, config, str(exc))
        self.OIDC_RP_CLIENT_ID = config.client_id
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self) -> str:
        return resolve_url("login")

    def get(self, request: HttpRequest) -> HttpResponse:
        config = _config_or_404()
        if request.GET.get("error"):
            super().get(request)  # forgets the state, logs out
            reason = request.GET.get("error_description") or request.GET["error"]
            return _refused(
                request,
                config,
                _("%(provider)s answered: %(reason)s")
                % {
                    "provider": config.provider_name,
                    "reason": reason,
                },
            )
        state = request.GET.get("state")
        if not request.GET.get("code") or not state:
            return _refused(request, config, _("the answer carried no code or no state."))
        if state not in request.session.get("oidc_states", {}):
            return _refused(
                request,
                config,
                _(
                    "this answer does not belong to a sign-in started in this browser (its state does not match), "
                    "so it was ignored. Start again."
                ),
            )
        try:
            response = super().get(request)
        except SignInRefused as exc:
            return _refused(request, config, str(exc))
        except SuspiciousOperation as exc:  # the nonce did not match
            return _refused(
                request, config, _("the ID token does not belong to this sign-in (%(why)s).") % {"why": exc}
            )
        user = getattr(self, "user", None)
        if user is None or not user.is_active:
            return _refused(request, config, _("this account is disabled in Podium."))
        return response

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        config = _config_or_404()
        tokens = self.request.podium_oidc_tokens
        session = self.request.session
        session["oidc_id_token"] = tokens["id_token"]
        session["oidc_refresh_token"] = tokens["refresh_token"]
        session["oidc_expires_at"] = tokens["expires_at"]
        session["oidc_subject"] = tokens["subject"]
        groups = self.user.oidc_identity.groups
        if not roles_for(config, groups):
            messages.warning(
                self.request,
                _(
                    "You are signed in as %(user)s, but your groups at %(provider)s (%(groups)s) give you no role "
                    "in Podium, so there is nothing you may see yet. Ask an admin to map one of your groups to a "
                    "role (PODIUM_OIDC_ROLE_MAP)."
                )
                % {
                    "user": self.user.get_username(),
                    "provider": config.provider_name,
                    "groups": ", ".join(groups) or _("none"),
                },
            )
        return response


start = login_not_required(StartView.as_view())
callback = login_not_required(CallbackView.as_view())


def end_session_url(request: HttpRequest, config: OIDCSettings) -> str | None:
    """The provider's RP-initiated logout URL for this session, when the provider offers one."""
    id_token = request.session.get("oidc_id_token")
    if not id_token:
        return None
    try:
        endpoint = discovery(config).get("end_session_endpoint")
    except ProviderUnavailable as exc:
        log.warning("OIDC logout at the provider skipped: %s", exc)
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": config.client_id,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Ends the Podium session; a session signed in with OpenID Connect is then ended at the provider too."""
    config = oidc_settings()
    at_provider = end_session_url(request, config) if config else None
    auth.logout(request)
    return HttpResponseRedirect(at_provider or resolve_url("login"))
