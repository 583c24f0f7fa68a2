"""The OpenID Connect settings, and the provider's discovery document (fetched when first needed, then cached)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

# How long a discovery document (endpoints) is kept before it is fetched again.
DISCOVERY_TTL_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read, or does not describe this issuer."""


@dataclass(frozen=True)
class OIDCSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    provider_name: str
    username_claim: str
    groups_claim: str
    group_prefix: str
    role_map: dict[str, tuple[str, ...]]
    sign_algo: str
    timeout: int

    @property
    def origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"


def oidc_settings() -> OIDCSettings | None:
    """The configured provider, or None when sign-in with OpenID Connect is off."""
    issuer = getattr(settings, "PODIUM_OIDC_ISSUER", "")
    if not issuer:
        return None
    return OIDCSettings(
        issuer=issuer,
        client_id=settings.PODIUM_OIDC_CLIENT_ID,
        client_secret=settings.PODIUM_OIDC_CLIENT_SECRET,
        scopes=settings.PODIUM_OIDC_SCOPES,
        provider_name=settings.PODIUM_OIDC_PROVIDER_NAME,
        username_claim=settings.PODIUM_OIDC_USERNAME_CLAIM,
        groups_claim=settings.PODIUM_OIDC_GROUPS_CLAIM,
        group_prefix=settings.PODIUM_OIDC_GROUP_PREFIX,
        role_map=settings.PODIUM_OIDC_ROLE_MAP,
        sign_algo=settings.PODIUM_OIDC_SIGN_ALGO,
        timeout=settings.PODIUM_OIDC_TIMEOUT,
    )


_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def discovery(config: OIDCSettings) -> dict[str, Any]:
    """The provider's OpenID configuration: its endpoints, checked to name the configured issuer."""
    with _lock:
        cached = _cache.get(config.issuer)
        if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    url = config.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=config.timeout)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{config.provider_name} did not answer at {url}: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer") != config.issuer:
        raise ProviderUnavailable(
            f"The discovery document at {url} names the issuer {document.get('issuer')!r}, "
            f"not {config.issuer!r} (PODIUM_OIDC_ISSUER must be exactly the provider's issuer)."
        )
    missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(key)]
    if missing:
        raise ProviderUnavailable(f"The discovery document at {url} has no {', '.join(missing)}.")
    with _lock:
        _cache[config.issuer] = (time.monotonic(), document)
    return document


def cached_discovery(config: OIDCSettings) -> dict[str, Any] | None:
    """The discovery document when one was read already (never fetched here: for every response's headers)."""
    with _lock:
        cached = _cache.get(config.issuer)
    return cached[1] if cached else None


def parse_role_map(value: str, roles: list[str]) -> dict[str, tuple[str, ...]]:
    """``claim-group=role,other=role`` into {claim group: roles}; a role Podium does not have is an error."""
    mapping: dict[str, list[str]] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        group, sep, role = item.rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group or role not in roles:
            raise ValueError(
                f"PODIUM_OIDC_ROLE_MAP: {item!r} must be <group from the claim>=<role>, the role one of "
                f"{', '.join(roles)}"
            )
        mapping.setdefault(group, []).append(role)
    return {group: tuple(found) for group, found in mapping.items()}
