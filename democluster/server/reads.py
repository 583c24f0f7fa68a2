"""Reads: list (with paging and continue tokens), get, the scale subresource, and watch (bookmarks,
sendInitialEvents, Table and metadata-only forms)."""

from __future__ import annotations

import asyncio
import base64
import bisect
from typing import Any

import orjson
from aiohttp import web

from democluster import errors, tables
from democluster.errors import ApiError, bad_request
from democluster.resources import Resource
from democluster.selectors import parse_field_selector, parse_label_selector, selector_to_string
from democluster.server.protocol import (
    DEFAULT_WATCH_TIMEOUT,
    ENCODED_EVENTS,
    JSON,
    METADATA,
    METADATA_LIST,
    Obj,
    Route,
    ServerState,
    answer_as,
    go_type,
    json_response,
    parse_bool,
    parse_int,
    partial_metadata,
    with_kind,
)
from democluster.store import Store


def selector_predicate(request: web.Request, res: Resource) -> Any:
    labels = parse_label_selector(request.query.get("labelSelector"))
    fields = parse_field_selector(request.query.get("fieldSelector"), res.plural)
    if labels is None and fields is None:
        return None

    def predicate(obj: Obj) -> bool:
        if labels is not None and not labels(obj["metadata"].get("labels") or {}):
            return False
        return fields is None or fields(obj)

    return predicate


def scale_of(res: Resource, obj: Obj) -> Obj:
    m = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector")
    status: Obj = {"replicas": (obj.get("status") or {}).get("replicas", 0)}
    if selector:
        status["selector"] = selector_to_string(selector)
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": status,
    }


class Reads:
    store: Store
    state: ServerState

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
        predicate = selector_predicate(request, res)
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
            return json_response(scale_of(res, obj))
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

    # --- watching --------------------------------------------------------------------------------

    async def watch(self, request: web.Request, route: Route) -> web.StreamResponse:
        query = request.query
        res = route.res
        predicate = selector_predicate(request, res)
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
        encoded = self.state.encoded_events

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
            # Every watcher of the same change sends the same line: encode it once. A resourceVersion names one
            # version of one object, so it names the line with the event's type and the API version asked for.
            key = (event_type, res.key, gv, obj["metadata"].get("resourceVersion"))
            line = encoded.get(key)
            if line is None:
                line = orjson.dumps({"type": event_type, "object": {"kind": res.kind, "apiVersion": gv, **obj}})
                encoded[key] = line
                if len(encoded) > ENCODED_EVENTS:
                    del encoded[next(iter(encoded))]
            return line

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
