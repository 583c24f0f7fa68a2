"""The official API schemas, as kubernetes-validate ships them: merge keys, unknown fields, types.

One ``_definitions.json`` (the newest version shipped) drives strategic merge patch, strict field
validation, pruning of unknown fields and the OpenAPI v3 documents kubectl reads.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import orjson

Schema = dict[str, Any]

_REF_PREFIX = "#/$defs/"


@functools.cache
def schema_dir(strict: bool = False) -> Path:
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    versions = [
        p.name
        for p in root.iterdir()
        if re.fullmatch(r"v\d+\.\d+\.\d+-local", p.name) and (root / (p.name + "-strict")).is_dir()
    ]
    newest = max(versions, key=lambda n: tuple(int(x) for x in n[1:].split("-")[0].split(".")))
    return root / (newest + ("-strict" if strict else ""))


def schema_version() -> str:
    """``1.37`` for the newest shipped schema set."""
    return ".".join(schema_dir().name[1:].split("-")[0].split(".")[:2])


@functools.cache
def definitions() -> dict[str, Schema]:
    return orjson.loads((schema_dir() / "_definitions.json").read_bytes())["$defs"]


@functools.cache
def gvk_index() -> dict[tuple[str, str, str], str]:
    index = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            index[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    return gvk_index().get((group, version, kind))


def root_schema(group: str, version: str, kind: str) -> Schema | None:
    name = definition_name(group, version, kind)
    return definitions()[name] if name else None


def resolve(schema: Schema | None) -> Schema | None:
    """Follow ``$ref`` (possibly wrapped in allOf) to the definition it names."""
    while schema is not None:
        ref = schema.get("$ref")
        if ref is None and schema.get("allOf"):
            ref = schema["allOf"][0].get("$ref")
        if ref is None:
            return schema
        schema = definitions().get(ref[len(_REF_PREFIX) :])
    return None


def property_schema(schema: Schema | None, field: str) -> Schema | None:
    """The raw (unresolved) schema of one property, carrying the patch extensions."""
    schema = resolve(schema)
    if schema is None:
        return None
    props = schema.get("properties")
    if props is not None:
        return props.get(field)
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def items_schema(schema: Schema | None) -> Schema | None:
    schema = resolve(schema)
    return None if schema is None else schema.get("items")


def patch_meta(schema: Schema | None) -> tuple[set[str], str | None]:
    """(patch strategies, merge key) of a property schema."""
    if schema is None:
        return set(), None
    strategy = schema.get("x-kubernetes-patch-strategy") or ""
    return set(filter(None, strategy.split(","))), schema.get("x-kubernetes-patch-merge-key")


def _types(schema: Schema) -> list[str]:
    t = schema.get("type")
    if t is None:
        return []
    return [t] if isinstance(t, str) else list(t)


def _type_ok(value: Any, schema: Schema) -> bool:
    if "oneOf" in schema:
        return any(_type_ok(value, s) for s in schema["oneOf"])
    types = _types(schema)
    if not types:
        return True
    for t in types:
        if t == "null" and value is None:
            return True
        if t == "string" and isinstance(value, str):
            return True
        if t == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if t == "boolean" and isinstance(value, bool):
            return True
        if t == "object" and isinstance(value, dict):
            return True
        if t == "array" and isinstance(value, list):
            return True
    return False


def _go_type(schema: Schema) -> str:
    types = [t for t in _types(schema) if t != "null"]
    return {"integer": "int32", "number": "float64", "boolean": "bool", "array": "[]", "object": "map"}.get(
        types[0] if types else "", types[0] if types else "value"
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class SchemaCheck:
    """The result of walking an object against its schema: unknown fields and type errors."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.type_errors: list[str] = []


def check_object(obj: Any, group: str, version: str, kind: str, *, prune: bool) -> SchemaCheck:
    """Walk ``obj`` against the schema of its kind; with ``prune`` unknown fields are removed in place."""
    result = SchemaCheck()
    root = root_schema(group, version, kind)
    if root is not None:
        _walk(obj, root, "", result, prune, top=True)
    return result


def _walk(value: Any, schema: Schema | None, path: str, result: SchemaCheck, prune: bool, top: bool = False) -> None:
    schema = resolve(schema)
    if schema is None or value is None:
        return
    if not _type_ok(value, schema):
        result.type_errors.append(
            f"json: cannot unmarshal {_json_type(value)} into Go struct field {path or '.'} of type {_go_type(schema)}"
        )
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key in list(value):
                if top and key in ("kind", "apiVersion"):
                    continue
                child = props.get(key)
                sub = f"{path}.{key}" if path else key
                if child is None:
                    result.unknown.append(sub)
                    if prune:
                        del value[key]
                    continue
                _walk(value[key], child, sub, result, prune)
        elif isinstance(schema.get("additionalProperties"), dict):
            extra = schema["additionalProperties"]
            for key, item in value.items():
                _walk(item, extra, f"{path}.{key}" if path else key, result, prune)
    elif isinstance(value, list):
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(value):
                _walk(item, items, f"{path}[{i}]", result, prune)


# --- OpenAPI v3 --------------------------------------------------------------------------------


def _rewrite_refs(node: Any) -> Any:
    """JSON Schema 2020 as kubernetes-validate writes it, back to the OpenAPI 3.0 shape the apiserver serves:
    refs under components, ``type`` a single string, int-or-string as the extension, refs with siblings in allOf."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out[k] = "#/components/schemas/" + v[len(_REF_PREFIX) :]
            elif k == "type" and isinstance(v, list):
                concrete = [t for t in v if t != "null"]
                if concrete:
                    out[k] = concrete[0]
            elif k == "oneOf" and isinstance(v, list) and all(isinstance(o, dict) and "type" in o for o in v):
                types = {t for o in v for t in ([o["type"]] if isinstance(o["type"], str) else o["type"])}
                if "integer" in types:
                    out["x-kubernetes-int-or-string"] = True
                else:
                    out["type"] = "string"
            else:
                out[k] = _rewrite_refs(v)
        if "$ref" in out and len(out) > 1:
            out["allOf"] = [{"$ref": out.pop("$ref")}]
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _reachable(names: list[str]) -> set[str]:
    defs, seen, stack = definitions(), set(), list(names)
    while stack:
        name = stack.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        stack.extend(_refs_in(defs[name]))
    return seen


def _refs_in(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                found.append(v[len(_REF_PREFIX) :])
            else:
                found.extend(_refs_in(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(_refs_in(v))
    return found


def component_schemas(names: list[str]) -> dict[str, Schema]:
    defs = definitions()
    return {name: _rewrite_refs(defs[name]) for name in sorted(_reachable(names))}
