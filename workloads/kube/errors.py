"""Podium's errors for what a cluster answers; each chains the client's own error."""

from __future__ import annotations

from typing import Any


class KubeError(Exception):
    """Anything the API server refused or failed; ``status`` is its Status body when it sent one."""

    def __init__(self, message: str, *, code: int | None = None, status: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status or {}


class Unreachable(KubeError):
    """No answer: connection refused, TLS failure, timeout, or a 5xx."""


class NoAnswer(Unreachable):
    """The request was sent and no answer came in time: whether a change it carried was applied is unknown."""


class Unauthorized(KubeError):
    """401: the credentials were refused."""


class Forbidden(KubeError):
    """403: the credentials lack a permission (RBAC)."""


class NotFound(KubeError):
    """404."""


class Conflict(KubeError):
    """409: stale resourceVersion, or the object already exists."""


class Expired(KubeError):
    """410: the resourceVersion or continue token is too old; list again."""


class Invalid(KubeError):
    """422: the server's validation; ``causes`` name the fields."""

    @property
    def causes(self) -> list[dict[str, str]]:
        return list((self.status.get("details") or {}).get("causes") or [])


_BY_CODE: dict[int, type[KubeError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Expired,
    422: Invalid,
}


def from_status(code: int, status: dict[str, Any] | None, fallback: str = "") -> KubeError:
    status = status or {}
    message = status.get("message") or fallback or f"HTTP {code}"
    if code >= 500:
        return Unreachable(f"the API server failed: {message}", code=code, status=status)
    return _BY_CODE.get(code, KubeError)(message, code=code, status=status)
