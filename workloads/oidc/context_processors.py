from __future__ import annotations

from django.http import HttpRequest

from workloads.oidc.config import oidc_settings


def oidc(request: HttpRequest) -> dict[str, str | None]:
    """The provider's name for the login page's "Sign in with ..." button, when sign-in with OpenID Connect is on."""
    config = oidc_settings()
    return {"oidc_provider_name": config.provider_name if config else None}
