"""PATCH bodies: JSON merge patch, JSON patch, strategic merge patch and server-side apply.

Strategic merge patch follows apimachinery's ``strategicpatch``: lists whose schema says
``x-kubernetes-patch-strategy: merge`` merge element by element on ``x-kubernetes-patch-merge-key``
(or as a set, for primitive lists), and the directives ``$patch``, ``$setElementOrder/<f>``,
``$retainKeys`` and ``$deleteFromPrimitiveList/<f>`` are honoured. Server-side apply is an
approximation: the applied fields merge with the same rules, and fields the manager applied before
and now omits are removed; each manager's field set is kept in ``metadata.managedFields``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonpatch
import orjson
import yaml

from democluster import schema as schemas
from democluster.errors import ApiError, bad_request
from democluster.resources import Resource

Obj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, APPLY_PATCH, "application/apply-patch+cbor")

_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES[:4])}"
        if content_type
        else "the body of the request was in an unknown format",
    )


def decode_patch(body: bytes, content_type: str) -> Any:
    try:
        if content_type == APPLY_PATCH:
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                return yaml.safe_load(body)
        return orjson.loads(body)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc


# --- JSON merge patch (RFC 7386) -----------------------------------------------------------------


def merge_patch(original: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- JSON patch (RFC 6902) -----------------------------------------------------------------------


def json_patch(original: Obj, operations: Any) -> Obj:
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp")
    try:
        return jsonpatch.JsonPatch(operations).apply(original)
    except jsonpatch.JsonPatchTestFailed as exc:
        # kube-apiserver names no detail for a failed "test" operation.
        raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request") from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    except (TypeError, KeyError, IndexError) as exc:
        raise bad_request(f"invalid JSON patch: {exc}") from exc


# --- strategic merge patch -----------------------------------------------------------------------


def strategic_merge_patch(original: Any, patch: Any, schema: schemas.Schema | None) -> Any:
    """Apply a strategic merge patch to ``original`` (not modified) for an object of ``schema``."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    merged = _merge_map(original if isinstance(original, dict) else {}, patch, schema)
    return {} if merged is None else merged


def _merge_map(original: Obj, patch: Obj, schema: schemas.Schema | None) -> Obj | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"}, schema)
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch type: {directive}")
    result = dict(original)
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE) :]
            drop = value if isinstance(value, list) else [value]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in drop]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        prop = schemas.property_schema(schema, key)
        strategies, merge_key = schemas.patch_meta(prop)
        if isinstance(value, dict):
            old = result.get(key)
            merged = _merge_map(old if isinstance(old, dict) else {}, value, prop)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            if "merge" in strategies:
                old = result.get(key)
                result[key] = _merge_list(
                    old if isinstance(old, list) else [], value, merge_key, schemas.items_schema(prop)
                )
            else:
                result[key] = _strip(value, schemas.items_schema(prop))
        else:
            result[key] = value
    for key, order in patch.items():
        if key.startswith(_SET_ORDER) and isinstance(order, list):
            name = key[len(_SET_ORDER) :]
            if isinstance(result.get(name), list):
                merge_key = schemas.patch_meta(schemas.property_schema(schema, name))[1]
                result[name] = _order(result[name], order, merge_key)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list, patch: list, merge_key: str | None, item_schema: schemas.Schema | None) -> list:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_strip(p, item_schema) for p in patch if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    if merge_key is None or not all(isinstance(p, dict) for p in patch):
        # A primitive list merged as a set (finalizers): union, original order first.
        result = list(original)
        for value in patch:
            if isinstance(value, dict) and value.get("$patch") == "delete":
                continue
            if value not in result:
                result.append(value)
        return result
    result = list(original)
    for element in patch:
        key_value = element.get(merge_key)
        index = next(
            (i for i, o in enumerate(result) if isinstance(o, dict) and o.get(merge_key) == key_value),
            None,
        )
        if element.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            merged = _merge_map({}, element, item_schema)
            if merged is not None:
                result.append(merged)
        else:
            merged = _merge_map(result[index], element, item_schema)
            if merged is None:
                del result[index]
            else:
                result[index] = merged
    return result


def _order(values: list, order: list, merge_key: str | None) -> list:
    """Put elements named in ``$setElementOrder`` first, in that order; the rest keep their place after."""

    def ident(v: Any) -> Any:
        return orjson.dumps(v.get(merge_key) if merge_key and isinstance(v, dict) else v)

    position = {ident(v): i for i, v in enumerate(order)}
    listed = sorted((v for v in values if ident(v) in position), key=lambda v: position[ident(v)])
    return listed + [v for v in values if ident(v) not in position]


def _strip(value: Any, schema: schemas.Schema | None) -> Any:
    """A patch value used wholesale, with any directives inside it applied to nothing."""
    if isinstance(value, dict):
        merged = _merge_map({}, {k: v for k, v in value.items() if k != "$patch"}, schema)
        return merged if merged is not None else {}
    if isinstance(value, list):
        return [_strip(v, schema) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return value


# --- server-side apply ---------------------------------------------------------------------------

_NOT_OWNED = {
    ("metadata", "managedFields"),
    ("metadata", "resourceVersion"),
    ("metadata", "uid"),
    ("metadata", "creationTimestamp"),
    ("metadata", "generation"),
}


def field_set(value: Any, schema: schemas.Schema | None, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The FieldsV1 set of the fields present in an applied configuration."""
    fields: dict[str, Any] = {}
    if not isinstance(value, dict):
        return fields
    for key, item in value.items():
        if not path and key in ("kind", "apiVersion"):
            continue
        if (*path, key) in _NOT_OWNED:
            continue
        prop = schemas.property_schema(schema, key)
        strategies, merge_key = schemas.patch_meta(prop)
        entry: dict[str, Any] = {}
        if isinstance(item, dict):
            entry = field_set(item, prop, (*path, key))
        elif isinstance(item, list) and "merge" in strategies:
            item_schema = schemas.items_schema(prop)
            for element in item:
                if merge_key and isinstance(element, dict) and merge_key in element:
                    sub = field_set(element, item_schema, (*path, key, "*"))
                    sub["."] = {}
                    entry[f"k:{orjson.dumps({merge_key: element[merge_key]}).decode()}"] = sub
                elif not isinstance(element, dict):
                    entry[f"v:{orjson.dumps(element).decode()}"] = {}
        fields[f"f:{key}"] = entry
    return fields


def _remove_fields(obj: Any, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Remove from ``obj`` what ``old`` names and ``new`` does not."""
    if not isinstance(obj, dict):
        return
    for name, old_sub in old.items():
        if not name.startswith("f:"):
            continue
        field = name[2:]
        if name not in new:
            obj.pop(field, None)
            continue
        value, new_sub = obj.get(field), new[name]
        if isinstance(value, dict):
            _remove_fields(value, old_sub, new_sub)
        elif isinstance(value, list):
            keep = []
            for element in value:
                ident = _element_ident(element, old_sub)
                if ident is not None and ident in old_sub and ident not in new_sub:
                    continue
                if ident is not None and ident in old_sub and ident in new_sub and isinstance(element, dict):
                    _remove_fields(element, old_sub[ident], new_sub[ident])
                keep.append(element)
            obj[field] = keep


def _element_ident(element: Any, fields: dict[str, Any]) -> str | None:
    if not isinstance(element, dict):
        return f"v:{orjson.dumps(element).decode()}"
    for name in fields:
        if name.startswith("k:"):
            key = next(iter(orjson.loads(name[2:])))
            if key in element:
                return f"k:{orjson.dumps({key: element[key]}).decode()}"
    return None


def apply(
    live: Obj | None,
    applied: Any,
    *,
    res: Resource,
    manager: str,
    schema: schemas.Schema | None,
) -> Obj:
    """Server-side apply of ``applied`` by ``manager`` onto ``live`` (None creates)."""
    if not isinstance(applied, dict):
        raise bad_request("apply patch must be an object")
    applied = {k: v for k, v in applied.items() if k not in ("status",)}
    applied_meta = dict(applied.get("metadata") or {})
    applied_meta.pop("managedFields", None)
    applied_meta.pop("resourceVersion", None)
    applied["metadata"] = applied_meta
    new_fields = field_set(applied, schema)
    base = live or {}
    entries = list((base.get("metadata") or {}).get("managedFields") or [])
    previous = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"), None)
    merged = strategic_merge_patch(base, applied, schema)
    if previous:
        _remove_fields(merged, previous.get("fieldsV1") or {}, new_fields)
    entry = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": res.api_version,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fieldsType": "FieldsV1",
        "fieldsV1": new_fields,
    }
    entries = [e for e in entries if e is not previous] + [entry]
    merged.setdefault("metadata", {})["managedFields"] = entries
    if live is not None and (live.get("metadata") or {}).get("resourceVersion"):
        merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    return merged
