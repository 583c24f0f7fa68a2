"""The authentication backend: mozilla-django-oidc's code flow, with the provider from discovery, the ID token's
issuer, audience and expiry checked, people keyed by (issuer, subject), and their groups synced."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from workloads.models import OIDCIdentity
from workloads.oidc.config import OIDCSettings, ProviderUnavailable, discovery, oidc_settings
from workloads.roles import ROLES

log = logging.getLogger(__name__)

# Seconds of clock difference between Podium and the provider that are tolerated on exp, iat and nbf.
CLOCK_SKEW_SECONDS = 60


class SignInRefused(Exception):
    """A sign-in answer that Podium does not accept; the message says why, for the person on the login page."""


class OIDCBackend(OIDCAuthenticationBackend):
    def __init__(self) -> None:
        # Django builds every backend for every password login and every request of a signed-in person: nothing
        # here may reach the provider (mozilla-django-oidc's own __init__ reads the endpoints).
        self.UserModel = User

    @property
    def config(self) -> OIDCSettings:
        config = oidc_settings()
        if config is None:
            raise SignInRefused("Sign-in with OpenID Connect is not configured.")
        return config

    def get_settings(self, attr: str, *default: Any) -> Any:  # type: ignore[override]
        config = self.config
        endpoints = {
            "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
            "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
            "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
        }
        if attr in endpoints:
            return discovery(config).get(endpoints[attr])
        values = {
            "OIDC_RP_CLIENT_ID": config.client_id,
            "OIDC_RP_CLIENT_SECRET": config.client_secret,
            "OIDC_RP_SIGN_ALGO": config.sign_algo,
            "OIDC_RP_SCOPES": config.scopes,
            "OIDC_TIMEOUT": config.timeout,
            "OIDC_RP_IDP_SIGN_KEY": None,
        }
        if attr in values:
            return values[attr]
        return super().get_settings(attr, *default)

    # The names mozilla-django-oidc's methods read, looked up when used.
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: self.get_settings("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: self.get_settings("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: self.get_settings("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: self.config.client_id)
    OIDC_RP_CLIENT_SECRET = property(lambda self: self.config.client_secret)
    OIDC_RP_SIGN_ALGO = property(lambda self: self.config.sign_algo)
    OIDC_RP_IDP_SIGN_KEY = None

    def get_user(self, user_id: int) -> User | None:
        # Django's own rule (mozilla-django-oidc's skips it): a deactivated person's sessions end at once.
        return ModelBackend.get_user(self, user_id)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:  # type: ignore[override]
        # Only the callback view passes a nonce; a password login (even one posted to a URL carrying ?code=&state=)
        # never starts a code exchange.
        if request is None or "nonce" not in kwargs or "password" in kwargs or oidc_settings() is None:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except ProviderUnavailable as exc:
            raise SignInRefused(str(exc)) from exc
        except requests.HTTPError as exc:
            raise SignInRefused(
                f"{self.config.provider_name} refused the sign-in: {_oauth_error(exc.response)}"
            ) from exc
        except requests.RequestException as exc:
            raise SignInRefused(f"{self.config.provider_name} did not answer: {exc}") from exc

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        if not token:
            raise SignInRefused(f"{self.config.provider_name} sent no ID token.")
        payload = super().verify_token(token, **kwargs)
        self.id_token_claims = payload
        return payload

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The signature (by the provider's key, with the configured algorithm), and the issuer, the audience (this
        client) and the time claims: mozilla-django-oidc itself checks neither issuer nor audience."""
        config = self.config
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != config.sign_algo:
            raise SignInRefused(
                f"The ID token is signed with {header.get('alg')!r}, not {config.sign_algo} (PODIUM_OIDC_SIGN_ALGO)."
            )
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[config.sign_algo],
                audience=config.client_id,
                issuer=config.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.InvalidAudienceError:
            audience = jwt.decode(payload, options={"verify_signature": False}).get("aud")
            raise SignInRefused(
                f"The ID token from {config.provider_name} was issued for another application (audience "
                f"{audience!r}), not for Podium (client id {config.client_id!r}); it is refused."
            ) from None
        except jwt.ExpiredSignatureError:
            raise SignInRefused(
                f"The ID token from {config.provider_name} has already expired (is its clock or Podium's wrong?); "
                "it is refused."
            ) from None
        except jwt.ImmatureSignatureError:
            raise SignInRefused(f"The ID token from {config.provider_name} is not valid yet; it is refused.") from None
        except jwt.InvalidIssuerError:
            raise SignInRefused(f"The ID token was not issued by {config.issuer}; it is refused.") from None
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(
                f"The ID token from {config.provider_name} is not valid ({exc}); it is refused."
            ) from None

    def retrieve_matching_jwk(self, token: str) -> Any:
        try:
            return super().retrieve_matching_jwk(token)
        except Exception as exc:  # SuspiciousOperation, or the JWKS unreadable
            if isinstance(exc, requests.RequestException):
                raise
            raise SignInRefused(f"The ID token is not signed by a key {self.config.provider_name} publishes.") from exc

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            # OpenID Connect Core 5.3.2: userinfo about anybody else must not be used.
            if userinfo.get("sub") != payload.get("sub"):
                raise SignInRefused(f"{self.config.provider_name}'s userinfo is about another subject; refused.")
            claims.update(userinfo)
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        user = sync_user(self.config, claims)
        # The callback view keeps these in the session once the person is logged in (login may flush it).
        self.request.podium_oidc_tokens = {
            "id_token": id_token,
            "refresh_token": getattr(self, "refresh_token", None),
            "expires_at": int(payload["exp"]),
            "subject": payload["sub"],
        }
        return user

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token_info = super().get_token(payload)
        self.refresh_token = token_info.get("refresh_token")
        return token_info


def _oauth_error(response: requests.Response | None) -> str:
    if response is None:
        return "no answer"
    try:
        body = response.json()
        return f"{body.get('error')}: {body.get('error_description', '')}".strip(": ")
    except ValueError:
        return f"HTTP {response.status_code}"


def claim_groups(config: OIDCSettings, claims: dict[str, Any]) -> list[str]:
    """The groups claim as a list of names (a provider may send one name as a string)."""
    value = claims.get(config.groups_claim)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(group, str) for group in value):
        raise SignInRefused(f"The {config.groups_claim!r} claim must be a list of group names.")
    return sorted({group for group in value if group})


def roles_for(config: OIDCSettings, groups: list[str]) -> list[str]:
    return sorted({role for group in groups for role in config.role_map.get(group, ())})


@transaction.atomic
def sync_user(config: OIDCSettings, claims: dict[str, Any]) -> User:
    """The Podium user of these claims, created on first sign-in; its claim groups and roles set from them.

    The role groups (viewer, editor, admin) of a person who signs in with OpenID Connect come from the provider
    alone, through PODIUM_OIDC_ROLE_MAP: each sign-in and token refresh sets them anew. Other groups an admin gave
    are kept."""
    subject = claims.get("sub")
    username = claims.get(config.username_claim)
    if not isinstance(username, str) or not username:
        raise SignInRefused(
            f"{config.provider_name} sent no {config.username_claim!r} claim (PODIUM_OIDC_USERNAME_CLAIM), so "
            "Podium cannot name this person."
        )
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise SignInRefused(
            f"The {config.username_claim!r} claim {username!r} is not a valid Podium username "
            "(letters, digits and @ . + - _, at most 150)."
        ) from None
    if len(username) > 150:
        raise SignInRefused(f"The {config.username_claim!r} claim is longer than 150 characters.")
    groups = claim_groups(config, claims)

    identity = OIDCIdentity.objects.select_related("user").filter(issuer=config.issuer, subject=subject).first()
    if identity is None:
        if User.objects.filter(username=username).exists():
            raise SignInRefused(
                f"A Podium account named {username!r} already exists and is not linked to {config.provider_name}: "
                "Podium will not hand it over. An admin can rename or delete it in /admin/."
            )
        user = User.objects.create_user(username, email=claims.get("email") or "")  # with an unusable password
        identity = OIDCIdentity(user=user, issuer=config.issuer, subject=subject)
    else:
        user = identity.user
        if user.username != username:
            if User.objects.filter(username=username).exclude(pk=user.pk).exists():
                raise SignInRefused(f"Another Podium account is already named {username!r}.")
            user.username = username
    if isinstance(claims.get("email"), str):
        user.email = claims["email"]
    user.save()
    identity.groups = groups
    identity.save()

    kept = [
        group
        for group in user.groups.all()
        if group.name not in ROLES and not group.name.startswith(config.group_prefix)
    ]
    synced = [Group.objects.get_or_create(name=f"{config.group_prefix}{name}")[0] for name in groups]
    roles = list(Group.objects.filter(name__in=roles_for(config, groups)))
    user.groups.set(kept + synced + roles)
    # Django's admin (/admin/) is for the admin role; a person whose provider groups no longer give it loses it.
    is_staff = any(role.name == "admin" for role in roles)
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    log.info("OIDC sign-in of %s (%s): groups %s, roles %s", username, subject, groups, [r.name for r in roles])
    return user
