"""Fixtures of the live-socket tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.layers import get_channel_layer


@pytest.fixture
async def layer() -> AsyncIterator[object]:
    channel_layer = get_channel_layer()
    yield channel_layer
    await channel_layer.flush()
