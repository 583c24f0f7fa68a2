"""Label and field selectors: the string forms of the API and the LabelSelector objects of specs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from democluster.errors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> Callable[[dict[str, str]], bool] | None:
    """Parse ``app=web,tier!=db,env in (a,b),!legacy`` into a predicate over a labels dict."""
    if not text:
        return None
    checks: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(text):
        for op in ("==", "!=", "="):
            if op in term and " in " not in term and "notin" not in term:
                key, _, value = term.partition(op)
                key, value = key.strip(), value.strip()
                if not key:
                    raise bad_request(f"unable to parse requirement: {term}")
                if op == "!=":
                    checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
                else:
                    checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
                break
        else:
            match = _SET_RE.match(term)
            if not match:
                raise bad_request(f"unable to parse requirement: {term}")
            negate, key, set_op, values_text = match.groups()
            if set_op:
                values = {v.strip() for v in values_text.split(",") if v.strip()}
                if set_op == "in":
                    checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
                else:
                    checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            elif negate:
                checks.append(lambda labels, k=key: k not in labels)
            else:
                checks.append(lambda labels, k=key: k in labels)
    return lambda labels: all(check(labels) for check in checks)


def match_label_selector(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """Match a LabelSelector object (matchLabels / matchExpressions). An empty selector matches everything."""
    labels = labels or {}
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_to_string(selector: dict[str, Any] | None) -> str:
    """The string form of a LabelSelector, as kubectl and ``status.selector`` write it."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], ",".join(expr.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(op, f"!{key}")
        )
    return ",".join(parts)


def _field_value(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# Field selectors each resource supports beyond metadata.name and metadata.namespace.
FIELD_LABELS: dict[str, set[str]] = {
    "pods": {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "events": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "source",
        "type",
    },
    "replicasets": {"status.replicas"},
    "jobs": {"status.successful"},
    "nodes": {"spec.unschedulable"},
}


def parse_field_selector(text: str | None, plural: str) -> Predicate | None:
    if not text:
        return None
    allowed = {"metadata.name", "metadata.namespace"} | FIELD_LABELS.get(plural, set())
    checks: list[Predicate] = []
    for term in _split_terms(text):
        for op in ("==", "!=", "="):
            if op in term:
                key, _, value = term.partition(op)
                key, value = key.strip(), value.strip()
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        if key not in allowed:
            raise bad_request(
                f'"{key}" is not a known field selector: only ' + ", ".join(f'"{a}"' for a in sorted(allowed))
            )
        if key == "source":
            key = "source.component"

        def getter(obj: dict[str, Any], k: str = key) -> str:
            value = _field_value(obj, k)
            return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

        if op == "!=":
            checks.append(lambda obj, g=getter, v=value: g(obj) != v)
        else:
            checks.append(lambda obj, g=getter, v=value: g(obj) == v)
    return lambda obj: all(check(obj) for check in checks)
