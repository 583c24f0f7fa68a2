"""Kubernetes resource quantities ("500m", "128Mi"), parsed by the official client's own helper."""

from __future__ import annotations

from decimal import Decimal

from kubernetes.utils import parse_quantity as _parse_quantity


def parse_quantity(text: str) -> Decimal:
    """The quantity's value as a Decimal; ValueError when Kubernetes would not accept it."""
    try:
        return _parse_quantity(text)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(str(exc)) from exc
