"""Writes: create, replace, patch (JSON, merge, strategic merge, apply), delete and deletecollection, with
dryRun, fieldValidation and the Pod's immutable spec."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from democluster import admission, errors
from democluster import patch as patches
from democluster import schema as schemas
from democluster.errors import ApiError, bad_request
from democluster.resources import PODS, SERVICES, Resource
from democluster.server.protocol import (
    JSON,
    Obj,
    Route,
    ServerState,
    decode_object,
    json_response,
    parse_bool,
    parse_int,
    read_body,
    with_kind,
)
from democluster.server.reads import scale_of, selector_predicate
from democluster.store import Store, clone


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


class Writes:
    store: Store
    state: ServerState

    async def _body(self, request: web.Request) -> Any:
        return decode_object(await read_body(request), request.content_type or JSON)

    def _object_response(self, route: Route, obj: Obj, status: int, headers: dict[str, str]) -> web.Response:
        if route.subresource == "scale":
            return json_response(scale_of(route.res, obj), status, headers)
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
            scale = scale_of(res, current)
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
        predicate = selector_predicate(request, res)
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
