"""Plain SQL for the queries every batch runs: the ORM's query building and per-value preparation cost more than
the queries themselves at tens of batches a second. Both databases speak what is written here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def width(count: int) -> int:
    """How many placeholders a list of ``count`` values is given: a few widths (1, 4, 16, 64, ...) rather than one
    per count, so that the statements of every batch are the same few texts, which the database connection keeps
    prepared (SQLite's statement cache holds 128: statements of every width would push out even the batch's
    upsert, and preparing one costs more than running it)."""
    size = 1
    while size < count:
        size *= 4
    return size


def among(values: Iterable[Any]) -> tuple[str, list[Any]]:
    """``IN (...)``'s placeholders for ``values`` and the parameters they take: ``values`` filled up to the width
    with the last one again (a repeated value changes no IN). Never empty: callers ask only about something."""
    params = list(values)
    size = width(len(params))
    return ", ".join(["%s"] * size), params + params[-1:] * (size - len(params))


def fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
