"""A real OpenID Connect provider for sign-in tests: panva's oidc-provider (tests/oidc_provider/, pinned by its
package-lock.json, installed by `npm ci` in scripts/bootstrap.sh) run by the machine's Node.js on 127.0.0.1."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc_provider"
CLIENT_ID = "podium"
CLIENT_SECRET = "podium-test-client-secret-0123456789"


@functools.cache
def signing_key() -> dict[str, Any]:
    """The providers' RSA key (a private JWK), made once per test run."""
    key = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    key.pop("key_ops", None)  # PyJWT says "sign" only; the provider also verifies with it (logout's id_token_hint)
    return {**key, "kid": "podium-test-key"}


class OidcProvider:
    """One provider process. ``accounts`` maps a login to its claims; ``options`` are provider.mjs's others."""

    def __init__(self, tmp_path: Path, podium_url: str, accounts: dict[str, dict[str, Any]], **options: Any) -> None:
        self.podium_url = podium_url
        refresh = options.pop("refresh_tokens", True)
        self.config = {
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "client_name": "Podium",
                    "redirect_uris": [f"{podium_url}/oidc/callback/"],
                    "post_logout_redirect_uris": [f"{podium_url}/login/"],
                    "grant_types": ["authorization_code", "refresh_token"] if refresh else ["authorization_code"],
                },
                {
                    "client_id": "other-app",
                    "client_secret": "other-app-secret-0123456789",
                    "redirect_uris": ["http://127.0.0.1:9/callback"],
                },
            ],
            "accounts": accounts,
            "signingKey": signing_key(),
            **options,
        }
        self.path = tmp_path / "oidc-provider.json"
        self.path.write_text(json.dumps(self.config))
        self.log = tmp_path / "oidc-provider.log"
        self.issuer = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> OidcProvider:
        node = shutil.which("node")
        if not node:
            pytest.fail(
                "Node.js is required to run the test OpenID provider (tests/oidc_provider/): install Debian's "
                "nodejs and npm (make test does, as root)."
            )
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("The test OpenID provider is not installed: run `npm ci --prefix tests/oidc_provider`.")
        log = self.log.open("w")
        self.process = subprocess.Popen(
            [node, str(PROVIDER_DIR / "provider.mjs"), str(self.path)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        if not line or not line[0].startswith("listening "):
            self.stop()
            pytest.fail(f"The test OpenID provider did not start: {self.log.read_text()[-2000:]}")
        self.issuer = line[0].split()[1]
        return self

    def set_claims(self, account: str, claims: dict[str, Any]) -> None:
        """The person's claims change at the provider (their groups, say)."""
        requests.post(f"{self.issuer}/_test/accounts/{account}", json=claims, timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def podium_settings(settings: Any, provider: OidcProvider, **overrides: Any) -> None:
    """Point Podium (pytest-django's ``settings``) at the provider, as the PODIUM_OIDC_* variables would."""
    settings.PODIUM_OIDC_ISSUER = provider.issuer
    settings.PODIUM_OIDC_CLIENT_ID = CLIENT_ID
    settings.PODIUM_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.PODIUM_OIDC_SCOPES = "openid email profile groups"
    settings.PODIUM_OIDC_PROVIDER_NAME = "Test IdP"
    settings.PODIUM_OIDC_ROLE_MAP = {"developers": ("editor",), "readers": ("viewer",), "platform": ("admin",)}
    for name, value in overrides.items():
        setattr(settings, f"PODIUM_OIDC_{name.upper()}", value)
