"""Sign-in with OpenID Connect (mozilla-django-oidc), beside Django's own login.

Off unless PODIUM_OIDC_ISSUER is set. The provider's endpoints come from its discovery document; a person is
created on first sign-in and keyed by (issuer, subject), their groups claim is synced on every sign-in and token
refresh, and mapped to Podium's roles by PODIUM_OIDC_ROLE_MAP.
"""
