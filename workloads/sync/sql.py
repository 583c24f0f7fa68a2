"""Plain SQL for the queries every batch runs: the ORM's query building and per-value preparation cost more than
the queries themselves at tens of batches a second. Both databases speak what is written here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from django.db import connection, models


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def among(values: Collection[Any]) -> str:
    """``IN (...)``'s placeholders, one per value (never empty: callers ask only about something)."""
    return ", ".join(["%s"] * len(values))


def fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
