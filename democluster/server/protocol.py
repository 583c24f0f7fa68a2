"""What requests and answers look like on the wire: query booleans and integers, media types (Table,
PartialObjectMetadata), request bodies, JSON and Status responses; shared by dispatch, reads and writes.

Lists are serialized straight from the stored dicts (items omit kind/apiVersion, as the real API's do), so a
list of 100k pods costs one ``orjson.dumps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from aiohttp import web

from democluster.errors import ApiError, bad_request
from democluster.rbac import Identity
from democluster.resources import Resource
from democluster.store import Store

Obj = dict[str, Any]

MAX_BODY_BYTES = 3 * 1024 * 1024  # the apiserver's default --max-request-bytes-ish limit for JSON bodies
DEFAULT_WATCH_TIMEOUT = 1800.0
ENCODED_EVENTS = 20_000  # watch lines kept for the other watchers of the same change
JSON = "application/json"

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}

METADATA = "PartialObjectMetadata"
METADATA_LIST = "PartialObjectMetadataList"
_AS_TARGETS = {"Table": ("v1", "v1beta1"), METADATA: ("v1",), METADATA_LIST: ("v1",)}


def answer_as(request: web.Request) -> str | None:
    """What the Accept header asks the object to be served as: ``Table``, ``PartialObjectMetadata``,
    ``PartialObjectMetadataList``, or None for the object itself. Alternatives are tried in order (protobuf ones are
    skipped: democluster speaks JSON only); when every one names a form democluster does not serve, 406."""
    accept = request.headers.get("Accept", "")
    asked_as = False
    for alternative in accept.split(","):
        media_type, *params = (p.strip() for p in alternative.split(";"))
        if "protobuf" in media_type or "cbor" in media_type:
            continue
        values = dict(p.split("=", 1) for p in params if "=" in p)
        target = values.get("as")
        if target is None:
            return None
        asked_as = True
        if values.get("g") == "meta.k8s.io" and values.get("v") in _AS_TARGETS.get(target, ()):
            return target
    if asked_as:
        raise ApiError(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, "
            "application/vnd.kubernetes.protobuf",
        )
    return None


def go_type(res: Resource, suffix: str = "") -> str:
    """The API server's internal Go type of a resource, as its 406 messages name it: ``*core.SecretList``."""
    package = res.group.split(".")[0] if res.group else "core"
    return f"*{package}.{res.kind}{suffix}"


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": METADATA, "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def parse_bool(value: str | None, name: str) -> bool:
    """Go's strconv.ParseBool, which the apiserver uses for query booleans."""
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise bad_request(f'invalid value for {name}: strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'invalid value for {name}: strconv.ParseInt: parsing "{value}": invalid syntax') from None


@dataclass
class Route:
    res: Resource
    group_version: str
    namespace: str | None
    name: str | None
    subresource: str | None


@dataclass
class ServerState:
    store: Store
    tokens: dict[str, Identity] = field(default_factory=dict)
    bookmark_interval: float = 5.0
    audit_log: Any = None  # an open text file: one JSON line per API request, as kube-apiserver's audit log
    impersonation_modes: dict[str, str] = field(default_factory=dict)  # requestor -> the mode that last worked
    sorted_keys: dict[str, tuple[int, list]] = field(default_factory=dict)
    # The last ENCODED_EVENTS watch lines sent, by (type, resource, group version, resourceVersion), oldest first:
    # the watchers of one change share its encoding.
    encoded_events: dict[tuple[str, str, str, str], bytes] = field(default_factory=dict)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON, headers=headers)


def status_response(error: ApiError) -> web.Response:
    return json_response(error.status(), status=error.code)


def with_kind(res: Resource, obj: Obj, group_version: str | None = None) -> Obj:
    return {"kind": res.kind, "apiVersion": group_version or res.api_version, **obj}


# --- request bodies ------------------------------------------------------------------------------


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}")
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_object(body: bytes, content_type: str) -> Any:
    if "protobuf" in content_type or "cbor" in content_type:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json, application/yaml",
        )
    if not body.strip():
        raise bad_request("the body of the request was empty")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(body)
        return orjson.loads(body)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
