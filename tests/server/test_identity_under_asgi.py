"""The signed-in person Podium acts as is remembered for each request without loading them in the event loop:
requests through Django's ASGI handler that never look at the user (a health check, a missing page) still answer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/healthz", "/login/", "/no-such-page/", "/"])
async def test_a_signed_in_persons_request_that_never_reads_the_user_is_answered(viewer: User, path: str) -> None:
    client = AsyncClient(HTTP_HOST="localhost")
    await client.aforce_login(viewer)
    response = await client.get(path)
    assert response.status_code in (200, 302, 404), response
