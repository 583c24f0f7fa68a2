"""The WebSocket origin check, compared in full (scheme, host and port) as Django's CSRF check compares it.

Channels' ``AllowedHostsOriginValidator`` matches only the Origin's host against ALLOWED_HOSTS, so a page served
from ``http://podium.example.com:8080`` could open a socket on ``https://podium.example.com``. A socket is accepted
when its Origin is the socket's own origin (the scheme of the connection, or of the TLS proxy in front of it when
``SECURE_PROXY_SSL_HEADER`` says so, and the Host header) or one of ``CSRF_TRUSTED_ORIGINS``: the origins a form
may POST from may open a socket, and no others.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.conf import settings


class SameOriginValidator:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = {name.lower(): value.decode("latin1") for name, value in scope.get("headers", [])}
        origin = headers.get(b"origin")
        if origin is not None and (origin == own_origin(scope, headers) or origin in settings.CSRF_TRUSTED_ORIGINS):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def own_origin(scope: dict, headers: dict[bytes, str]) -> str:
    secure = scope.get("scheme") == "wss"
    if settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        # "HTTP_X_FORWARDED_PROTO" names the header x-forwarded-proto.
        forwarded = headers.get(header.removeprefix("HTTP_").replace("_", "-").lower().encode(), "")
        secure = secure or forwarded.split(",")[0].strip() == value
    return f"{'https' if secure else 'http'}://{headers.get(b'host', '')}"
