"""The application: one catch-all aiohttp handler parses Kubernetes paths itself, authenticates the bearer
token, applies impersonation and RBAC, writes the audit log, and hands the request to reads or writes.
Reviews (SelfSubject*Review), discovery and democluster's own admin paths are answered here.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import orjson
from aiohttp import web

from democluster import discovery, logs, rbac
from democluster.errors import ApiError, bad_request
from democluster.rbac import Attributes, Identity
from democluster.resources import RESOURCES, Resource
from democluster.server.protocol import (
    JSON,
    MAX_BODY_BYTES,
    Obj,
    Route,
    ServerState,
    json_response,
    parse_bool,
    parse_int,
    status_response,
)
from democluster.server.reads import Reads
from democluster.server.writes import Writes
from democluster.store import Store, now_rfc3339

_BY_PATH: dict[tuple[str, str], Resource] = {}
for _res in RESOURCES:
    for _version in (_res.version, *_res.extra_versions):
        _BY_PATH[(f"{_res.group}/{_version}" if _res.group else _version, _res.plural)] = _res


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


# --- the application -----------------------------------------------------------------------------


class ApiServer(Reads, Writes):
    """The API server: dispatch and auth here; list/get/watch in Reads, create/update/patch/delete in Writes."""

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
