"""Discovery (``/api``, ``/apis``, resource lists), ``/version`` and the OpenAPI v3 documents kubectl reads."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson

from democluster import schema as schemas
from democluster.resources import RESOURCES, Resource

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:02:27Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}

SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"], "log": ["get"]}


def group_versions() -> dict[str, list[Resource]]:
    """Every served group-version with its resources, in registry order."""
    result: dict[str, list[Resource]] = {}
    for res in RESOURCES:
        for version in (res.version, *res.extra_versions):
            gv = f"{res.group}/{version}" if res.group else version
            result.setdefault(gv, []).append(res)
    return result


def api_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }


def api_group_list() -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for gv in group_versions():
        if "/" in gv:
            group, version = gv.split("/")
            groups.setdefault(group, []).append(version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]},
            }
            for group, versions in groups.items()
        ],
    }


def api_group(group: str) -> dict[str, Any] | None:
    for entry in api_group_list()["groups"]:
        if entry["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **entry}
    return None


def resource_list(group_version: str) -> dict[str, Any] | None:
    resources = group_versions().get(group_version)
    if resources is None:
        return None
    entries: list[dict[str, Any]] = []
    for res in resources:
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        entry["storageVersionHash"] = hashlib.sha256(res.key.encode()).hexdigest()[:11]
        entries.append(entry)
        for sub in res.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{res.plural}/{sub}",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": SUBRESOURCE_VERBS[sub],
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            entries.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


# --- OpenAPI v3 ----------------------------------------------------------------------------------


def _gv_path(group_version: str) -> str:
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


@functools.cache
def openapi_document(group_version: str) -> bytes | None:
    resources = group_versions().get(group_version)
    if resources is None:
        return None
    group, _, version = group_version.rpartition("/")
    roots: list[str] = []
    paths: dict[str, Any] = {}
    for res in resources:
        name = schemas.definition_name(group, version, res.kind)
        if name is None:
            continue
        roots.append(name)
        gvk = {"group": group, "version": version, "kind": res.kind}
        ref = {"$ref": f"#/components/schemas/{name}"}
        content = {"application/json": {"schema": ref}}
        params = [
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        ]
        prefix = f"/{_gv_path(group_version)}/" + ("namespaces/{namespace}/" if res.namespaced else "")
        # kubectl looks for fieldValidation among each PATCH operation's own parameters.
        common = {"x-kubernetes-group-version-kind": gvk, "parameters": params}
        paths[prefix + res.plural] = {
            "get": {
                "operationId": f"list{res.kind}",
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "list",
                **common,
            },
            "post": {
                "operationId": f"create{res.kind}",
                "requestBody": {"content": {"*/*": {"schema": ref}}, "required": True},
                "responses": {"200": {"description": "OK", "content": content}},
                "x-kubernetes-action": "post",
                **common,
            },
        }
        paths[prefix + res.plural + "/{name}"] = {
            "get": {
                "operationId": f"read{res.kind}",
                "responses": {"200": {"description": "OK", "content": content}},
                "x-kubernetes-action": "get",
                **common,
            },
            "put": {
                "operationId": f"replace{res.kind}",
                "requestBody": {"content": {"*/*": {"schema": ref}}, "required": True},
                "responses": {"200": {"description": "OK", "content": content}},
                "x-kubernetes-action": "put",
                **common,
            },
            "patch": {
                "operationId": f"patch{res.kind}",
                "requestBody": {
                    "content": {
                        t: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
                        for t in (
                            "application/apply-patch+yaml",
                            "application/json-patch+json",
                            "application/merge-patch+json",
                            "application/strategic-merge-patch+json",
                        )
                    },
                    "required": True,
                },
                "responses": {"200": {"description": "OK", "content": content}},
                "x-kubernetes-action": "patch",
                **common,
            },
            "delete": {
                "operationId": f"delete{res.kind}",
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "delete",
                **common,
            },
        }
    components = schemas.component_schemas(roots)
    components.setdefault(
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
        {
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
            "type": "object",
        },
    )
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": components},
    }
    return orjson.dumps(doc)


def openapi_index() -> dict[str, Any]:
    paths = {}
    for gv in group_versions():
        doc = openapi_document(gv)
        digest = hashlib.sha512(doc or b"").hexdigest()[:64].upper()
        paths[_gv_path(gv)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(gv)}?hash={digest}"}
    return {"paths": paths}
