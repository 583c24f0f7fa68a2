"""``Table`` responses for ``kubectl get``, following kubernetes/pkg/printers/internalversion/printers.go."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from democluster.selectors import selector_to_string

Obj = dict[str, Any]
Column = tuple[str, str, int]  # (name, type, priority)

NONE = "<none>"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """Go's ``duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(value: str | None, now: datetime) -> str:
    t = _parse_time(value)
    return "<unknown>" if t is None else human_duration((now - t).total_seconds())


def _age(obj: Obj, now: datetime) -> str:
    return since(obj["metadata"].get("creationTimestamp"), now)


def _template_spec(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def _containers_images(obj: Obj) -> list[str]:
    containers = _template_spec(obj).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _selector(obj: Obj) -> str:
    return selector_to_string((obj.get("spec") or {}).get("selector")) or NONE


# --- per-kind printers ---------------------------------------------------------------------------


def pod_status(pod: Obj) -> tuple[str, int, int, int, str | None]:
    """(STATUS, ready containers, total containers, restarts, last restart time) as kubectl prints them."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    last_restart: str | None = None
    reason = status.get("reason") or status.get("phase") or ""
    initializing = False
    init_specs = spec.get("initContainers") or []
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount") or 0
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        sidecar = i < len(init_specs) and init_specs[i].get("restartPolicy") == "Always"
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if sidecar and cs.get("started"):
            continue
        if terminated is not None:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode', 0)}"
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if not initializing or conditions.get("Initialized") == "True":
        restarts = 0
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount") or 0
            finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                reason = (
                    f"Signal:{terminated['signal']}"
                    if terminated.get("signal")
                    else f"ExitCode:{terminated.get('exitCode', 0)}"
                )
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if conditions.get("Ready") == "True" else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def _pod_row(pod: Obj, now: datetime) -> list[Any]:
    reason, ready, total, restarts, last_restart = pod_status(pod)
    restarts_text = str(restarts)
    if restarts and last_restart:
        restarts_text = f"{restarts} ({since(last_restart, now)} ago)"
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or NONE
    gates = spec.get("readinessGates") or []
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gates_text = f"{sum(1 for g in gates if conditions.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    else:
        gates_text = NONE
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restarts_text,
        _age(pod, now),
        ip,
        spec.get("nodeName") or NONE,
        status.get("nominatedNodeName") or NONE,
        gates_text,
    ]


def _deployment_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj, now),
        *_containers_images(obj),
        _selector(obj),
    ]


def _replicaset_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        spec.get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _age(obj, now),
        *_containers_images(obj),
        _selector(obj),
    ]


def _statefulset_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        _age(obj, now),
        *_containers_images(obj),
    ]


def _daemonset_row(obj: Obj, now: datetime) -> list[Any]:
    status = obj.get("status") or {}
    node_selector = _template_spec(obj).get("nodeSelector") or {}
    return [
        obj["metadata"]["name"],
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or NONE,
        _age(obj, now),
        *_containers_images(obj),
        _selector(obj),
    ]


def _job_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Complete") == "True":
        state = "Complete"
    elif conditions.get("Failed") == "True":
        state = "Failed"
    elif obj["metadata"].get("deletionTimestamp"):
        state = "Terminating"
    elif conditions.get("FailureTarget") == "True":
        state = "FailureTarget"
    elif conditions.get("SuccessCriteriaMet") == "True":
        state = "SuccessCriteriaMet"
    elif conditions.get("Suspended") == "True":
        state = "Suspended"
    else:
        state = "Running"
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration(((end or now) - start).total_seconds())
    return [
        obj["metadata"]["name"],
        state,
        completions,
        duration,
        _age(obj, now),
        *_containers_images(obj),
        _selector(obj),
    ]


def _cronjob_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return [
        obj["metadata"]["name"],
        spec.get("schedule", ""),
        spec.get("timeZone") or NONE,
        "True" if spec.get("suspend") else "False",
        len(status.get("active") or []),
        since(last, now) if last else NONE,
        _age(obj, now),
        *_containers_images(obj),
        selector_to_string(job_spec.get("selector")) or NONE,
    ]


def _event_row(obj: Obj, now: datetime) -> list[Any]:
    involved = obj.get("involvedObject") or {}
    first = obj.get("firstTimestamp") or obj.get("eventTime")
    last = (
        obj.get("lastTimestamp") or ((obj.get("series") or {}).get("lastObservedTime")) or obj.get("eventTime") or first
    )
    count = obj.get("count") or ((obj.get("series") or {}).get("count")) or 1
    last_seen = since(last, now)
    if count > 1:
        last_seen = f"{last_seen} (x{count} over {since(first, now)})"
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last_seen,
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{(involved.get('kind') or '').lower()}/{involved.get('name', '')}",
        involved.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        (obj.get("message") or "").strip(),
        since(first, now),
        count,
        obj["metadata"]["name"],
    ]


def _node_row(obj: Obj, now: datetime) -> list[Any]:
    status = obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = {"True": "Ready", "False": "NotReady"}.get(conditions.get("Ready") or "", "Unknown")
    if (obj.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = obj["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    roles += ["control-plane"] if labels.get("kubernetes.io/role") == "master" else []
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        obj["metadata"]["name"],
        state,
        ",".join(roles) or NONE,
        _age(obj, now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP") or NONE,
        addresses.get("ExternalIP") or NONE,
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _namespace_row(obj: Obj, now: datetime) -> list[Any]:
    return [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", ""), _age(obj, now)]


def _service_row(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    ports = []
    for port in spec.get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    external = spec.get("externalIPs") or []
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external_text = ",".join(external + [i.get("ip") or i.get("hostname") or "" for i in ingress])
    if not external_text:
        external_text = "<pending>" if spec.get("type") == "LoadBalancer" else NONE
    if spec.get("type") == "ExternalName":
        external_text = spec.get("externalName", "")
    selector = spec.get("selector") or {}
    return [
        obj["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or NONE,
        external_text,
        ",".join(ports) or NONE,
        _age(obj, now),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or NONE,
    ]


def _configmap_row(obj: Obj, now: datetime) -> list[Any]:
    return [obj["metadata"]["name"], len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


def _controllerrevision_row(obj: Obj, now: datetime) -> list[Any]:
    owner = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
    controller = NONE
    if owner:
        group = owner.get("apiVersion", "").rpartition("/")[0]
        kind = owner.get("kind", "").lower()
        controller = f"{kind}.{group}/{owner.get('name')}" if group else f"{kind}/{owner.get('name')}"
    return [obj["metadata"]["name"], controller, obj.get("revision", 0), _age(obj, now)]


def _generic_row(obj: Obj, now: datetime) -> list[Any]:
    return [obj["metadata"]["name"], _age(obj, now)]


_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)
_WORKLOAD_WIDE: list[Column] = [("Containers", "string", 1), ("Images", "string", 1), ("Selector", "string", 1)]

PRINTERS: dict[str, tuple[list[Column], Callable[[Obj, datetime], list[Any]]]] = {
    "Pod": (
        [
            _NAME,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            _AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        _pod_row,
    ),
    "Deployment": (
        [
            _NAME,
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            _AGE,
            *_WORKLOAD_WIDE,
        ],
        _deployment_row,
    ),
    "ReplicaSet": (
        [_NAME, ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0), _AGE, *_WORKLOAD_WIDE],
        _replicaset_row,
    ),
    "StatefulSet": (
        [_NAME, ("Ready", "string", 0), _AGE, ("Containers", "string", 1), ("Images", "string", 1)],
        _statefulset_row,
    ),
    "DaemonSet": (
        [
            _NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            _AGE,
            *_WORKLOAD_WIDE,
        ],
        _daemonset_row,
    ),
    "Job": (
        [
            _NAME,
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            _AGE,
            *_WORKLOAD_WIDE,
        ],
        _job_row,
    ),
    "CronJob": (
        [
            _NAME,
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            _AGE,
            *_WORKLOAD_WIDE,
        ],
        _cronjob_row,
    ),
    "Event": (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ],
        _event_row,
    ),
    "Node": (
        [
            _NAME,
            ("Status", "string", 0),
            ("Roles", "string", 0),
            _AGE,
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        _node_row,
    ),
    "Namespace": ([_NAME, ("Status", "string", 0), _AGE], _namespace_row),
    "Service": (
        [
            _NAME,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            _AGE,
            ("Selector", "string", 1),
        ],
        _service_row,
    ),
    "ConfigMap": ([_NAME, ("Data", "integer", 0), _AGE], _configmap_row),
    "ControllerRevision": (
        [_NAME, ("Controller", "string", 0), ("Revision", "integer", 0), _AGE],
        _controllerrevision_row,
    ),
}


def column_definitions(kind: str) -> list[Obj]:
    columns = PRINTERS.get(kind, ([_NAME, _AGE], None))[0]
    return [
        {
            "name": name,
            "type": type_,
            "format": "name" if name == "Name" and priority == 0 else "",
            "description": f"{name} of the {kind}",
            "priority": priority,
        }
        for name, type_, priority in columns
    ]


def row(kind: str, obj: Obj, include: str, api_version: str, now: datetime | None = None) -> Obj:
    """One table row; ``include`` is ``Metadata`` (PartialObjectMetadata), ``Object`` or ``None``."""
    printer = PRINTERS.get(kind, (None, _generic_row))[1]
    result: Obj = {"cells": printer(obj, now or datetime.now(UTC))}
    if include == "Object":
        result["object"] = {"kind": kind, "apiVersion": api_version, **obj}
    elif include != "None":
        result["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return result


def table(
    kind: str,
    objects: Iterable[Obj],
    include: str,
    api_version: str,
    resource_version: str,
    cont: str | None = None,
    with_columns: bool = True,
) -> Obj:
    now = datetime.now(UTC)
    metadata: Obj = {"resourceVersion": resource_version}
    if cont:
        metadata["continue"] = cont
    body: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    body["columnDefinitions"] = column_definitions(kind) if with_columns else None
    body["rows"] = [row(kind, obj, include, api_version, now) for obj in objects]
    return body
