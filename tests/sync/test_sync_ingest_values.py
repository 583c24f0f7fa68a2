"""The mirror's own value adaptation stores exactly what Django's SQLite backend would (PostgreSQL is
handed datetimes as they are)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from workloads.sync.ingest import _sqlite_datetime


@pytest.mark.parametrize(
    "value",
    [
        None,
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    ],
)
def test_datetimes_are_stored_as_django_stores_them(value: datetime | None) -> None:
    assert _sqlite_datetime(value) == connection.ops.adapt_datetimefield_value(value)
