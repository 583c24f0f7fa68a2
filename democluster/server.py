"""The HTTP API: routes, query parameters, lists with paging, watches, writes, auth and errors.

One catch-all aiohttp handler parses Kubernetes paths itself; the Store holds all state. Lists are
serialized straight from the stored dicts (items omit kind/apiVersion, as the real API's do), so a
list of 100k pods costs one ``orjson.dumps``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from aiohttp import web

from democluster import admission, discovery, errors, logs, rbac, tables
from democluster import patch as patches
from democluster import schema as schemas
from democluster.errors import ApiError, bad_request
from democluster.rbac import Attributes, Identity
from democluster.resources import PODS, RESOURCES, SERVICES, Resource
from democluster.selectors import parse_field_selector, parse_label_selector, selector_to_string
from democluster.store import Store, clone, now_rfc3339

Obj = dict[str, Any]

MAX_BODY_BYTES = 3 * 1024 * 1024  # the apiserver's default --max-request-bytes-ish limit for JSON bodies
DEFAULT_WATCH_TIMEOUT = 1800.0
JSON = "application/json"

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}

_BY_PATH: dict[tuple[str, str], Resource] = {}
for _res in RESOURCES:
    for _version in (_res.version, *_res.extra_versions):
        _BY_PATH[(f"{_res.group}/{_version}" if _res.group else _version, _res.plural)] = _res


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


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON, headers=headers)


def status_response(error: ApiError) -> web.Response:
    return json_response(error.status(), status=error.code)


def with_kind(res: Resource, obj: Obj, group_version: str | None = None) -> Obj:
    return {"kind": res.kind, "apiVersion": group_version or res.api_version, **obj}


# --- routing -------------------------------------------------------------------------------------


def parse_route(path: str) -> Route | None:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api" and len(parts) >= 3:
        group_version, rest = parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and (group_version, rest[2]) in _BY_PATH:
        namespace, rest = rest[1], rest[2:]
    res = _BY_PATH.get((group_version, rest[0]))
    if res is None or len(rest) > 3:
        return None
    if namespace is not None and not res.namespaced:
        return None
    name = rest[1] if len(rest) >= 2 else None
    subresource = rest[2] if len(rest) == 3 else None
    if subresource is not None and subresource not in res.subresources:
        return None
    return Route(res, group_version, namespace, name, subresource)


def not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


_REVIEWS = {
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": ("authorization.k8s.io", "selfsubjectaccessreviews"),
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews": ("authorization.k8s.io", "selfsubjectrulesreviews"),
    "/apis/authentication.k8s.io/v1/selfsubjectreviews": ("authentication.k8s.io", "selfsubjectreviews"),
}
_REVIEW_KINDS = {
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectrulesreviews": "SelfSubjectRulesReview",
    "selfsubjectreviews": "SelfSubjectReview",
}


def _discovery_path(attrs: Obj) -> bool:
    path = attrs.get("path") or ""
    return path in ("/api", "/apis", "/healthz", "/livez", "/openapi", "/readyz", "/version", "/version/") or (
        path.startswith(("/api/", "/apis/", "/openapi/"))
    )


# --- auth ----------------------------------------------------------------------------------------

_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


# Who asks when the server runs without tokens: anyone, as the cluster's admin.
OPEN = Identity("system:admin", (rbac.MASTERS, rbac.AUTHENTICATED), None)


def authenticate(state: ServerState, request: web.Request) -> Identity:
    """The bearer token's identity (before any impersonation)."""
    if not state.tokens:
        return OPEN
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else ""
    found = state.tokens.get(token)
    if found is None:
        raise ApiError(401, "Unauthorized", "Unauthorized")
    return found


def attributes(route: Route, verb: str) -> Attributes:
    return Attributes(
        verb, route.res.group, route.res.plural, route.subresource or "", route.namespace or "", route.name or ""
    )


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


def check_fields(res: Resource, obj: Any, validation: str, headers: dict[str, str]) -> None:
    """Reject type errors, apply the fieldValidation mode to unknown fields, and prune them."""
    handled = f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}'
    if not isinstance(obj, dict):
        raise bad_request(f"{handled}: json: cannot unmarshal into Go value of type {res.kind}")
    result = schemas.check_object(obj, res.group, res.version, res.kind, prune=True)
    if result.type_errors:
        raise bad_request(f"{handled}: {result.type_errors[0]}")
    if not result.unknown:
        return
    if validation == "Strict":
        fields = ", ".join(f'unknown field "{f}"' for f in result.unknown)
        raise bad_request(f"{handled}: strict decoding error: {fields}")
    if validation != "Ignore":
        headers["Warning"] = ", ".join(f'299 - "unknown field \\"{f}\\""' for f in result.unknown)


_POD_UPDATE_FORBIDDEN = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
    "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def check_pod_update(old: Obj, new: Obj) -> None:
    """A pod's spec is immutable through the API except images, deadlines and added tolerations."""
    candidate = clone(new)
    candidate.setdefault("spec", {})
    admission.default(PODS, candidate, old)

    def comparable(spec: Obj) -> Obj:
        spec = clone(spec or {})
        for key in ("containers", "initContainers"):
            for container in spec.get(key) or []:
                if isinstance(container, dict):
                    container.pop("image", None)
        for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
            spec.pop(key, None)
        return spec

    if comparable(old.get("spec")) != comparable(candidate["spec"]):
        name = old["metadata"]["name"]
        raise errors.invalid(
            PODS, name, [{"reason": "FieldValueForbidden", "message": _POD_UPDATE_FORBIDDEN, "field": "spec"}]
        )


def parse_dry_run(request: web.Request, options: Obj | None = None) -> bool:
    values = request.query.getall("dryRun", []) + list((options or {}).get("dryRun") or [])
    for value in values:
        if value != "All":
            raise ApiError(400, "BadRequest", f'Invalid dryRun value: "{value}": supported values: "All"')
    return bool(values)


def field_validation(request: web.Request) -> str:
    value = request.query.get("fieldValidation", "Warn") or "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise bad_request(
            f'fieldValidation: Unsupported value: "{value}": supported values: "Ignore", "Strict", "Warn"'
        )
    return value


# --- the application -----------------------------------------------------------------------------


class ApiServer:
    def __init__(
        self,
        store: Store,
        tokens: dict[str, Identity] | None = None,
        bookmark_interval: float = 5.0,
        audit_log: Any = None,
    ):
        self.state = ServerState(store, tokens or {}, bookmark_interval, audit_log=audit_log)
        self.store = store

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES * 2, middlewares=[self._errors])
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return status_response(exc)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug becomes a 500 Status, as in the apiserver
            import traceback

            traceback.print_exc()
            return status_response(ApiError(500, "InternalError", f"Internal error occurred: {exc!r}"))

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path.startswith("/democluster/"):
            return await self.admin(request, path)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        identity = authenticate(self.state, request)
        review = _REVIEWS.get(path)
        route = parse_route(path) if review is None else None
        if review is not None:
            request_attrs = Attributes("create", *review)
        elif route is not None:
            request_attrs = attributes(route, self._verb(request, route))
        else:  # a path that is no resource: its verb is the HTTP method's, lower-case
            request_attrs = Attributes(request.method.lower(), "", "", path=path)
        identity = rbac.impersonate(
            self.store, identity, request.headers, request_attrs, self.state.impersonation_modes
        )
        if request.method == "GET":
            body = self.discovery(path)
            if body is not None:
                return body
        if review is not None:
            return await self.review(request, identity, *review)
        if route is None:
            raise not_found_path()
        code = 500
        try:
            rbac.check(self.store, identity, request_attrs)
            response = await self.resource(request, route, request_attrs.verb)
            code = response.status
            return response
        except ApiError as exc:
            code = exc.code
            raise
        finally:
            self._audit(request, identity, route, request_attrs.verb, code)

    def _audit(self, request: web.Request, identity: Identity, route: Route, verb: str, code: int) -> None:
        """One line per request, in the fields of kube-apiserver's audit events (level Metadata)."""
        if self.state.audit_log is None:
            return
        acting = identity.impersonator or identity
        event: Obj = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "stage": "ResponseComplete",
            "requestURI": request.path_qs,
            "verb": verb,
            "user": {"username": acting.user, "groups": list(acting.groups)},
            "objectRef": {
                k: v
                for k, v in {
                    "resource": route.res.plural,
                    "namespace": route.namespace,
                    "name": route.name,
                    "apiGroup": route.res.group,
                    "apiVersion": route.res.version,
                    "subresource": route.subresource,
                }.items()
                if v
            },
            "responseStatus": {"metadata": {}, "code": code},
        }
        if identity.impersonator is not None:
            event["impersonatedUser"] = {"username": identity.user, "groups": list(identity.groups)}
        self.state.audit_log.write(orjson.dumps(event).decode() + "\n")
        self.state.audit_log.flush()

    async def review(self, request: web.Request, identity: Identity, group: str, resource: str) -> web.Response:
        """POST of a SelfSubjectAccessReview, SelfSubjectRulesReview or SelfSubjectReview: about the asker."""
        if request.method != "POST":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        rbac.check(self.store, identity, Attributes("create", group, resource))
        body = await self._body(request)
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        kind = _REVIEW_KINDS[resource]
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        answer: Obj = {"kind": kind, "apiVersion": f"{group}/v1", "metadata": {"creationTimestamp": None}}
        if resource == "selfsubjectreviews":
            answer["metadata"] = {"creationTimestamp": now_rfc3339()}
            user_info: Obj = {"username": identity.user, "groups": list(identity.groups)}
            if identity.uid:
                user_info["uid"] = identity.uid
            answer["status"] = {"userInfo": user_info}
            return json_response(answer, 201)
        if resource == "selfsubjectrulesreviews":
            namespace = spec.get("namespace") or ""
            if not namespace:
                raise bad_request("no namespace on request")
            answer["spec"] = {}  # the apiserver does not echo the namespace back
            answer["status"] = rbac.rules_review(self.store, identity, namespace)
            return json_response(answer, 201)
        attrs = spec.get("resourceAttributes")
        non_resource = spec.get("nonResourceAttributes")
        if (attrs is None) == (non_resource is None):
            # The apiserver's own message has no kind in it (the review's kind is not registered for it).
            message = (
                "Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"
            )
            cause = {"reason": "FieldValueInvalid", "message": message, "field": "spec.resourceAttributes"}
            details = {"group": group, "causes": [cause]}
            raise ApiError(422, "Invalid", f'.{group} "" is invalid: spec.resourceAttributes: {message}', details)
        answer["spec"] = spec
        if non_resource is not None:
            # Every authenticated user may read the discovery paths (system:discovery); nothing else is served.
            allowed = identity.is_admin or (non_resource.get("verb") == "get" and _discovery_path(non_resource))
            answer["status"] = {"allowed": bool(allowed)}
            return json_response(answer, 201)
        decision = rbac.authorize(
            self.store,
            identity,
            Attributes(
                attrs.get("verb") or "",
                attrs.get("group") or "",
                attrs.get("resource") or "",
                attrs.get("subresource") or "",
                attrs.get("namespace") or "",
                attrs.get("name") or "",
            ),
        )
        answer["status"] = {"allowed": decision.allowed}
        if decision.reason:
            answer["status"]["reason"] = decision.reason
        return json_response(answer, 201)

    async def admin(self, request: web.Request, path: str) -> web.Response:
        if path == "/democluster/healthz":
            return web.Response(text="ok")
        if path == "/democluster/compact" and request.method == "POST":
            self.store.compact()
            return json_response({"resourceVersion": str(self.store.rv)})
        raise not_found_path()

    def discovery(self, path: str) -> web.Response | None:
        if path == "/version":
            return json_response(discovery.VERSION)
        if path == "/api":
            return json_response(discovery.api_versions())
        if path == "/apis":
            return json_response(discovery.api_group_list())
        if path == "/openapi/v3":
            return json_response(discovery.openapi_index())
        if path.startswith("/openapi/v3/"):
            rest = path[len("/openapi/v3/") :]
            gv = rest[len("api/") :] if rest.startswith("api/") else rest[len("apis/") :]
            doc = discovery.openapi_document(gv)
            if doc is None:
                raise not_found_path()
            return web.Response(body=doc, content_type=JSON)
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "api":
            body = discovery.resource_list(parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            body = discovery.api_group(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            body = discovery.resource_list(f"{parts[1]}/{parts[2]}")
        else:
            return None
        if body is None:
            raise not_found_path()
        return json_response(body)

    def _verb(self, request: web.Request, route: Route) -> str:
        method = request.method
        verb = _VERBS.get(method, "")
        if route.name is None:
            is_watch = method == "GET" and parse_bool(request.query.get("watch"), "watch")
            verb = {"GET": "watch" if is_watch else "list", "DELETE": "deletecollection"}.get(method, verb)
        return verb

    async def resource(self, request: web.Request, route: Route, verb: str) -> web.StreamResponse:
        method = request.method
        is_watch = verb == "watch"
        if route.subresource == "log" and method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if route.name is None:
            if method == "GET":
                return await (self.watch(request, route) if is_watch else self.list(request, route))
            if method == "POST":
                return await self.create(request, route)
            if method == "DELETE":
                return await self.delete_collection(request, route)
        else:
            if method == "GET" and route.subresource == "log":
                return await logs.serve(request, self.store, route.namespace or "", route.name, parse_bool, parse_int)
            if method == "GET":
                return self.get(request, route)
            if method == "PUT":
                return await self.replace(request, route)
            if method == "PATCH":
                return await self.patch(request, route)
            if method == "DELETE":
                return await self.delete(request, route)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # --- reading ---------------------------------------------------------------------------------

    def _predicate(self, request: web.Request, res: Resource) -> Any:
        labels = parse_label_selector(request.query.get("labelSelector"))
        fields = parse_field_selector(request.query.get("fieldSelector"), res.plural)
        if labels is None and fields is None:
            return None

        def predicate(obj: Obj) -> bool:
            if labels is not None and not labels(obj["metadata"].get("labels") or {}):
                return False
            return fields is None or fields(obj)

        return predicate

    def _sorted_keys(self, res: Resource) -> list:
        cached = self.state.sorted_keys.get(res.key)
        if cached is not None and cached[0] == self.store.rv:
            return cached[1]
        keys = sorted(self.store.objects[res.key])
        self.state.sorted_keys[res.key] = (self.store.rv, keys)
        return keys

    def _page(self, request: web.Request, route: Route, predicate: Any) -> tuple[list[Obj], str | None, int | None]:
        query = request.query
        limit = parse_int(query.get("limit"), "limit") or 0
        token = query.get("continue")
        res, namespace = route.res, route.namespace if route.res.namespaced else None
        if not limit and not token:
            return self.store.list(res, namespace, predicate), None, None
        start_after: tuple[str, str] | None = None
        list_rv = self.store.rv
        if token:
            try:
                decoded = orjson.loads(base64.urlsafe_b64decode(token.encode() + b"=="))
                list_rv, start_after = int(decoded["rv"]), (decoded["start"][0], decoded["start"][1])
            except (ValueError, KeyError, TypeError, IndexError, orjson.JSONDecodeError):
                raise bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
            if list_rv < self.store.compacted_rv:
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the "
                    "first chunk was returned and now may show up in the list."
                )
        keys = self._sorted_keys(res)
        import bisect

        index = bisect.bisect_right(keys, start_after) if start_after is not None else 0
        objects = self.store.objects[res.key]
        items: list[Obj] = []
        last_key = None
        while index < len(keys) and (not limit or len(items) < limit):
            key = keys[index]
            index += 1
            obj = objects.get(key)
            if obj is None or (namespace is not None and key[0] != namespace):
                continue
            if predicate is None or predicate(obj):
                items.append(obj)
                last_key = key
        cont = None
        remaining = None
        if limit and index < len(keys) and last_key is not None:
            cont = base64.urlsafe_b64encode(orjson.dumps({"rv": list_rv, "start": list(last_key)})).decode().rstrip("=")
            if predicate is None and namespace is None:
                remaining = len(keys) - index
        return items, cont, remaining

    async def list(self, request: web.Request, route: Route) -> web.Response:
        res = route.res
        predicate = self._predicate(request, res)
        items, cont, remaining = self._page(request, route, predicate)
        rv = str(self.store.rv)
        target = answer_as(request)
        if target == "Table":
            include = request.query.get("includeObject", "Metadata")
            body = tables.table(res.kind, items, include, route.group_version, rv, cont)
            return json_response(body)
        if target == METADATA:
            raise ApiError(
                406,
                "NotAcceptable",
                f"you requested {METADATA}, but the requested object is a list ({go_type(res, 'List')})",
            )
        metadata: Obj = {"resourceVersion": rv}
        if cont:
            metadata["continue"] = cont
            if remaining is not None:
                metadata["remainingItemCount"] = remaining
        if target == METADATA_LIST:
            # Only metadata leaves the server: what a Secret holds is never sent.
            body = {
                "kind": METADATA_LIST,
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "items": [partial_metadata(o) for o in items],
            }
            return web.Response(body=orjson.dumps(body), content_type=JSON)
        body = {"kind": f"{res.kind}List", "apiVersion": route.group_version, "metadata": metadata, "items": items}
        return web.Response(body=orjson.dumps(body), content_type=JSON)

    def get(self, request: web.Request, route: Route) -> web.Response:
        res = route.res
        obj = self.store.get(res, route.namespace, route.name or "")
        if route.subresource == "scale":
            return json_response(self.scale_of(res, obj))
        target = answer_as(request)
        if target == "Table":
            include = request.query.get("includeObject", "Metadata")
            return json_response(
                tables.table(res.kind, [obj], include, route.group_version, obj["metadata"]["resourceVersion"])
            )
        if target == METADATA:
            return json_response(partial_metadata(obj))
        if target == METADATA_LIST:
            raise ApiError(
                406,
                "NotAcceptable",
                f"you requested {METADATA_LIST}, but the requested object is not a list ({go_type(res)})",
            )
        return json_response(with_kind(res, obj, route.group_version))

    def scale_of(self, res: Resource, obj: Obj) -> Obj:
        m = obj["metadata"]
        selector = (obj.get("spec") or {}).get("selector")
        status: Obj = {"replicas": (obj.get("status") or {}).get("replicas", 0)}
        if selector:
            status["selector"] = selector_to_string(selector)
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": status,
        }

    # --- watching --------------------------------------------------------------------------------

    async def watch(self, request: web.Request, route: Route) -> web.StreamResponse:
        query = request.query
        res = route.res
        predicate = self._predicate(request, res)
        rv_text = query.get("resourceVersion", "")
        send_initial = parse_bool(query.get("sendInitialEvents"), "sendInitialEvents")
        bookmarks = parse_bool(query.get("allowWatchBookmarks"), "allowWatchBookmarks")
        timeout = parse_int(query.get("timeoutSeconds"), "timeoutSeconds")
        since: int | None = None
        if rv_text not in ("", "0") and not send_initial:
            since = parse_int(rv_text, "resourceVersion")
        target = answer_as(request)
        if target == METADATA_LIST:
            # kube-apiserver answers 200 and then no events at all (they cannot be encoded as a list); a clear error
            # serves a client better, and no client relies on the silence (see README.md).
            raise ApiError(
                406, "NotAcceptable", f"you requested {METADATA_LIST}, but a watch sends objects ({go_type(res)})"
            )
        as_table = target == "Table"
        as_metadata = target == METADATA
        include = query.get("includeObject", "Metadata")
        namespace = route.namespace if res.namespaced else None

        response = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        try:
            watcher = self.store.watch(res, namespace, predicate, since)
        except ApiError as exc:
            await response.prepare(request)
            await response.write(orjson.dumps({"type": "ERROR", "object": exc.status()}) + b"\n")
            await response.write_eof()
            return response
        await response.prepare(request)
        gv = route.group_version
        first_table = [True]

        def encode(event_type: str, obj: Obj) -> bytes:
            if as_table:
                body = tables.table(
                    res.kind,
                    [obj],
                    include,
                    gv,
                    obj["metadata"].get("resourceVersion", ""),
                    with_columns=first_table[0],
                )
                first_table[0] = False
                return orjson.dumps({"type": event_type, "object": body})
            if as_metadata:
                return orjson.dumps({"type": event_type, "object": partial_metadata(obj)})
            return orjson.dumps({"type": event_type, "object": {"kind": res.kind, "apiVersion": gv, **obj}})

        def bookmark(annotations: Obj | None = None) -> bytes:
            meta: Obj = {"resourceVersion": str(self.store.rv)}
            if annotations:
                meta["annotations"] = annotations
            if as_metadata:
                return orjson.dumps({"type": "BOOKMARK", "object": partial_metadata({"metadata": meta})})
            return orjson.dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": gv, "metadata": meta}})

        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if timeout is not None and timeout > 0 else DEFAULT_WATCH_TIMEOUT)
        interval = self.state.bookmark_interval
        next_bookmark = loop.time() + interval
        queue = watcher.queue
        try:
            if send_initial:
                lines = []
                while not queue.empty():
                    lines.append(encode(*queue.get_nowait()))
                lines.append(bookmark({"k8s.io/initial-events-end": "true"}))
                await response.write(b"\n".join(lines) + b"\n")
            while True:
                now = loop.time()
                if now >= deadline:
                    if bookmarks and queue.empty():
                        await response.write(bookmark() + b"\n")
                    break
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                if queue.empty():
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=wait)
                    except TimeoutError:
                        if bookmarks and loop.time() >= next_bookmark:
                            await response.write(bookmark() + b"\n")
                            next_bookmark = loop.time() + interval
                        continue
                else:
                    event = queue.get_nowait()
                lines = [encode(*event)]
                while not queue.empty() and len(lines) < 2000:
                    lines.append(encode(*queue.get_nowait()))
                await response.write(b"\n".join(lines) + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unwatch(watcher)
        try:
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    # --- writing ---------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        return decode_object(await read_body(request), request.content_type or JSON)

    def _object_response(self, route: Route, obj: Obj, status: int, headers: dict[str, str]) -> web.Response:
        if route.subresource == "scale":
            return json_response(self.scale_of(route.res, obj), status, headers)
        return json_response(with_kind(route.res, obj, route.group_version), status, headers or None)

    async def create(self, request: web.Request, route: Route) -> web.Response:
        res = route.res
        validation = field_validation(request)
        dry_run = parse_dry_run(request)
        obj = await self._body(request)
        headers: dict[str, str] = {}
        check_fields(res, obj, validation, headers)
        self._check_kind(res, obj)
        if res is PODS or "status" in res.subresources:
            obj.pop("status", None)
        created = self.store.create(res, obj, namespace=route.namespace, dry_run=dry_run)
        return self._object_response(route, created, 201, headers)

    def _check_kind(self, res: Resource, obj: Obj) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != res.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
        if api_version and api_version.rpartition("/")[0] != res.group:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({res.api_version})"
            )

    def _name_check(self, route: Route, obj: Obj) -> None:
        m = obj.setdefault("metadata", {})
        if m.get("name") and m["name"] != route.name:
            raise bad_request(f"the name of the object ({m['name']}) does not match the name on the URL ({route.name})")
        if route.namespace and m.get("namespace") and m["namespace"] != route.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        m["name"] = route.name
        if route.res.namespaced:
            m["namespace"] = route.namespace
        else:
            m.pop("namespace", None)

    async def replace(self, request: web.Request, route: Route) -> web.Response:
        res = route.res
        validation = field_validation(request)
        dry_run = parse_dry_run(request)
        obj = await self._body(request)
        headers: dict[str, str] = {}
        if route.subresource == "scale":
            if not isinstance(obj, dict):
                raise bad_request("Scale body must be an object")
            current = self.store.get(res, route.namespace, route.name or "")
            updated = self._apply_scale(current, obj)
            saved = self.store.update(res, updated, dry_run=dry_run)
            return self._object_response(route, saved, 200, headers)
        check_fields(res, obj, validation, headers)
        self._check_kind(res, obj)
        self._name_check(route, obj)
        if res is PODS and route.subresource is None:
            current = self.store.get(res, route.namespace, route.name or "")
            check_pod_update(current, obj)
        saved = self.store.update(res, obj, subresource=route.subresource, dry_run=dry_run)
        return self._object_response(route, saved, 200, headers)

    def _apply_scale(self, current: Obj, scale: Obj) -> Obj:
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiError(
                422,
                "Invalid",
                f'Scale.autoscaling "{current["metadata"]["name"]}" is invalid: spec.replicas: Invalid value: '
                f"{replicas}: must be greater than or equal to 0",
                {
                    "name": current["metadata"]["name"],
                    "group": "autoscaling",
                    "kind": "Scale",
                    "causes": [
                        {
                            "reason": "FieldValueInvalid",
                            "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
                            "field": "spec.replicas",
                        }
                    ],
                },
            )
        updated = clone(current)
        updated.setdefault("spec", {})["replicas"] = replicas
        wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
        updated["metadata"]["resourceVersion"] = wanted_rv or current["metadata"]["resourceVersion"]
        return updated

    async def patch(self, request: web.Request, route: Route) -> web.Response:
        res = route.res
        content_type = request.content_type
        if content_type not in patches.PATCH_TYPES or content_type == "application/apply-patch+cbor":
            raise patches.unsupported_media_type(content_type)
        validation = field_validation(request)
        dry_run = parse_dry_run(request)
        manager = request.query.get("fieldManager", "")
        force = parse_bool(request.query.get("force"), "force")
        if content_type == patches.APPLY_PATCH and not manager:
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                {
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: is required for apply patch",
                            "field": "fieldManager",
                        }
                    ],
                },
            )
        if force and content_type != patches.APPLY_PATCH:
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
                {"group": "meta.k8s.io", "kind": "PatchOptions"},
            )
        body = patches.decode_patch(await read_body(request), content_type)
        headers: dict[str, str] = {}
        current = self.store.try_get(res, route.namespace, route.name or "")
        if route.subresource == "scale":
            if current is None:
                raise errors.not_found(res, route.name or "")
            scale = self.scale_of(res, current)
            patched_scale = self._patch_document(scale, body, content_type, None)
            saved = self.store.update(res, self._apply_scale(current, patched_scale), dry_run=dry_run)
            return self._object_response(route, saved, 200, headers)
        root = schemas.root_schema(res.group, res.version, res.kind)
        if current is None:
            if content_type != patches.APPLY_PATCH or route.subresource:
                raise errors.not_found(res, route.name or "")
            applied = patches.apply(None, body, res=res, manager=manager, schema=root)
            check_fields(res, applied, validation, headers)
            self._check_kind(res, applied)
            self._name_check(route, applied)
            applied.pop("status", None)
            created = self.store.create(res, applied, namespace=route.namespace, dry_run=dry_run)
            return self._object_response(route, created, 201, headers)
        base = with_kind(res, current, route.group_version)
        if content_type == patches.APPLY_PATCH:
            if isinstance(body, dict):
                self._check_kind(res, body)
            patched = patches.apply(base, body, res=res, manager=manager, schema=root)
        else:
            patched = self._patch_document(base, body, content_type, root)
        patched = clone(patched)
        check_fields(res, patched, validation, headers)
        self._name_check(route, patched)
        if res is PODS and route.subresource is None:
            check_pod_update(current, patched)
        saved = self.store.update(res, patched, subresource=route.subresource, dry_run=dry_run)
        return self._object_response(route, saved, 200, headers)

    def _patch_document(self, current: Obj, body: Any, content_type: str, root: Any) -> Obj:
        if content_type == patches.JSON_PATCH:
            result = patches.json_patch(current, body)
        elif content_type == patches.MERGE_PATCH:
            if not isinstance(body, dict):
                raise bad_request("merge patch must be a JSON object")
            result = patches.merge_patch(current, body)
        else:
            result = patches.strategic_merge_patch(current, body, root)
        if not isinstance(result, dict):
            raise bad_request("the patch produced a value that is not an object")
        return result

    async def _delete_options(self, request: web.Request) -> Obj:
        body = await read_body(request)
        if not body.strip():
            return {}
        try:
            options = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be an object")
        return options

    def _delete_args(self, request: web.Request, options: Obj) -> dict[str, Any]:
        query = request.query
        grace = parse_int(query.get("gracePeriodSeconds"), "gracePeriodSeconds")
        if grace is None:
            grace = options.get("gracePeriodSeconds")
        policy = query.get("propagationPolicy") or options.get("propagationPolicy")
        if options.get("orphanDependents") is True or parse_bool(query.get("orphanDependents"), "orphanDependents"):
            policy = policy or "Orphan"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise ApiError(
                422,
                "Invalid",
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{policy}": '
                'supported values: "Foreground", "Background", "Orphan", "nil"',
                {"group": "meta.k8s.io", "kind": "DeleteOptions"},
            )
        preconditions = options.get("preconditions") or {}
        return {
            "propagation": policy,
            "grace_seconds": grace,
            "precondition_uid": preconditions.get("uid"),
            "precondition_rv": preconditions.get("resourceVersion"),
            "dry_run": parse_dry_run(request, options),
        }

    def _delete_result(self, route: Route, obj: Obj, removed: bool) -> web.Response:
        res = route.res
        # As kube-apiserver's registries: Pods and Services answer with the deleted object.
        if res in (PODS, SERVICES) or not removed:
            return json_response(with_kind(res, obj, route.group_version))
        details: Obj = {"name": obj["metadata"]["name"], "kind": res.plural, "uid": obj["metadata"].get("uid")}
        if res.group:
            details["group"] = res.group
        return json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        )

    async def delete(self, request: web.Request, route: Route) -> web.Response:
        if route.subresource:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        options = await self._delete_options(request)
        obj, removed = self.store.delete(
            route.res, route.namespace, route.name or "", **self._delete_args(request, options)
        )
        return self._delete_result(route, obj, removed)

    async def delete_collection(self, request: web.Request, route: Route) -> web.Response:
        options = await self._delete_options(request)
        args = self._delete_args(request, options)
        res = route.res
        predicate = self._predicate(request, res)
        deleted = []
        for obj in self.store.list(res, route.namespace if res.namespaced else None, predicate):
            m = obj["metadata"]
            try:
                gone, _ = self.store.delete(res, m.get("namespace"), m["name"], **args)
            except ApiError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(gone)
        body = {
            "kind": f"{res.kind}List",
            "apiVersion": route.group_version,
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": deleted,
        }
        return json_response(body)


async def start_server(
    app: web.Application, host: str, port: int, ssl_context: Any = None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, backlog=1024)
    await site.start()
    sockets = site._server.sockets if site._server else []  # noqa: SLF001 - aiohttp has no public accessor
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, bound


def monotonic() -> float:
    return time.monotonic()
