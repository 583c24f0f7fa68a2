"""From a raw Kubernetes object to the columns of its row. Pure functions, no database."""

from __future__ import annotations

from typing import Any

from workloads import status
from workloads.objects import condition, controller_ref, images_of, parse_time, pod_template_of

Obj = dict[str, Any]


def resource_version(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def base_columns(obj: Obj) -> dict[str, Any]:
    m = obj.get("metadata") or {}
    raw = dict(obj)
    if "managedFields" in m:  # noise pages never show, and most of an object's size
        raw["metadata"] = {k: v for k, v in m.items() if k != "managedFields"}
    return {
        "uid": m.get("uid", ""),
        "namespace": m.get("namespace") or "",
        "name": m.get("name", ""),
        "resource_version": resource_version(obj),
        "labels": m.get("labels") or {},
        "created_at": parse_time(m.get("creationTimestamp")),
        "raw": raw,
    }


def workload_health(kind: str, obj: Obj, cols: dict[str, Any]) -> tuple[str, str]:
    """(health, reason) as the pages show it: the same rule with the same replica columns as its fallbacks, so the
    stored column (what the list sorts by) and the badge the page draws from ``raw`` never disagree."""
    badge = status.workload_status(
        kind,
        obj,
        desired=cols.get("desired_replicas", 0),
        ready=cols.get("ready_replicas", 0),
        updated=cols.get("updated_replicas", 0),
    )
    return badge.health, str(badge.reason)


def workload_columns(kind: str, obj: Obj) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    m = obj.get("metadata") or {}
    annotations = m.get("annotations") or {}
    cols: dict[str, Any] = {
        "kind": kind,
        "owner_uid": controller_ref(obj).get("uid", ""),
        "generation": m.get("generation") or 0,
        "observed_generation": status.get("observedGeneration") or 0,
        "images": ", ".join(dict.fromkeys(i for i in images_of(pod_template_of(kind, obj)) if i)),
        "current_revision": "",
    }
    if kind in ("Deployment", "ReplicaSet"):
        cols |= {
            "desired_replicas": spec.get("replicas", 1),
            "ready_replicas": status.get("readyReplicas") or 0,
            "updated_replicas": (status.get("updatedReplicas") or 0)
            if kind == "Deployment"
            else (status.get("replicas") or 0),
            "available_replicas": status.get("availableReplicas") or 0,
            "current_revision": annotations.get("deployment.kubernetes.io/revision", ""),
        }
    elif kind == "StatefulSet":
        cols |= {
            "desired_replicas": spec.get("replicas", 1),
            "ready_replicas": status.get("readyReplicas") or 0,
            "updated_replicas": status.get("updatedReplicas") or 0,
            "available_replicas": status.get("availableReplicas") or 0,
            "current_revision": status.get("updateRevision") or "",
        }
    elif kind == "DaemonSet":
        cols |= {
            "desired_replicas": status.get("desiredNumberScheduled") or 0,
            "ready_replicas": status.get("numberReady") or 0,
            "updated_replicas": status.get("updatedNumberScheduled") or 0,
            "available_replicas": status.get("numberAvailable") or 0,
        }
    elif kind == "Job":
        cols |= {
            "desired_replicas": spec.get("completions") or 1,
            "ready_replicas": status.get("succeeded") or 0,
            "updated_replicas": status.get("active") or 0,
            "available_replicas": status.get("succeeded") or 0,
        }
    elif kind == "CronJob":
        cols |= {
            "desired_replicas": 0,
            "ready_replicas": len(status.get("active") or []),
            "updated_replicas": 0,
            "available_replicas": 0,
        }
    cols["health"], cols["health_reason"] = workload_health(kind, obj, cols)
    cols["health_reason"] = (cols["health_reason"] or "")[:2000]
    return cols


def template_revision_columns(kind: str, obj: Obj, owner_kind: str = "") -> dict[str, Any]:
    """A ReplicaSet or ControllerRevision as a revision of its workload's Pod template."""
    m = obj.get("metadata") or {}
    annotations, labels = m.get("annotations") or {}, m.get("labels") or {}
    owner = controller_ref(obj)
    if kind == "ReplicaSet":
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        revision = annotations.get("deployment.kubernetes.io/revision", "0")
        return {
            "source_kind": kind,
            "workload_uid": owner.get("uid", ""),
            "revision": int(revision) if revision.isdigit() else 0,
            "template_hash": labels.get("pod-template-hash", ""),
            "template": spec.get("template") or {},
            "replicas": status.get("replicas") or 0,
            "ready_replicas": status.get("readyReplicas") or 0,
            "change_cause": annotations.get("kubernetes.io/change-cause", ""),
        }
    template = dict(((obj.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    # StatefulSet Pods carry the revision's name; DaemonSet Pods only its hash.
    owner_kind = owner.get("kind", owner_kind)
    if owner_kind == "StatefulSet":
        template_hash = m.get("name", "")
    else:
        template_hash = labels.get("controller-revision-hash") or m.get("name", "").rsplit("-", 1)[-1]
    return {
        "source_kind": kind,
        "workload_uid": owner.get("uid", ""),
        "revision": int(obj.get("revision") or 0),
        "template_hash": template_hash,
        "template": template,
        "replicas": 0,
        "ready_replicas": 0,
        "change_cause": annotations.get("kubernetes.io/change-cause", ""),
    }


def pod_status_text(pod: Obj) -> str:
    """The STATUS column of ``kubectl get pods``."""
    return status.pod_status_text(pod)[:64]


def pod_columns(pod: Obj) -> dict[str, Any]:
    m, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    labels = m.get("labels") or {}
    owner = controller_ref(pod)
    statuses = status.get("containerStatuses") or []
    ready_cond = condition(pod, "Ready")
    return {
        "owner_kind": owner.get("kind", ""),
        "owner_name": owner.get("name", ""),
        "owner_uid": owner.get("uid", ""),
        "template_hash": labels.get("pod-template-hash") or labels.get("controller-revision-hash") or "",
        "phase": status.get("phase") or "",
        "status_text": pod_status_text(pod),
        "ready": ready_cond.get("status") == "True",
        "ready_containers": sum(1 for cs in statuses if cs.get("ready")),
        "total_containers": len(spec.get("containers") or []),
        "restarts": sum(int(cs.get("restartCount") or 0) for cs in statuses),
        "node_name": spec.get("nodeName") or "",
        "pod_ip": status.get("podIP") or "",
        "terminating": bool(m.get("deletionTimestamp")),
    }


def event_columns(event: Obj) -> dict[str, Any]:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    series = event.get("series") or {}
    last = event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime")
    first = event.get("firstTimestamp") or event.get("eventTime") or last
    return {
        "involved_kind": involved.get("kind", ""),
        "involved_name": involved.get("name", ""),
        "involved_uid": involved.get("uid", ""),
        "reason": (event.get("reason") or "")[:128],
        "message": event.get("message") or event.get("note") or "",
        "type": event.get("type") or "",
        "count": int(event.get("count") or series.get("count") or 1),
        "first_seen": parse_time(first),
        "last_seen": parse_time(last),
    }


def namespace_columns(obj: Obj) -> dict[str, Any]:
    return {"phase": (obj.get("status") or {}).get("phase", "")}


def node_columns(obj: Obj) -> dict[str, Any]:
    status = obj.get("status") or {}
    return {
        "ready": condition(obj, "Ready").get("status") == "True",
        "kubelet_version": (status.get("nodeInfo") or {}).get("kubeletVersion", ""),
    }


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def without_values(kind: str, obj: Obj) -> Obj:
    """What the mirror may keep of a ConfigMap or Secret: never a value. A ConfigMap keeps its key names (``keys``)
    but not what they hold; a Secret keeps its metadata alone (it is listed metadata-only; this holds even if a server
    sent more). Both lose ``kubectl apply``'s last-applied annotation, which copies the whole object, values too."""
    if kind not in ("ConfigMap", "Secret"):
        return obj
    metadata = dict(obj.get("metadata") or {})
    annotations = metadata.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    kept = {"kind": obj.get("kind", kind), "apiVersion": obj.get("apiVersion", "v1"), "metadata": metadata}
    if kind == "ConfigMap" and "immutable" in obj:
        kept["immutable"] = obj["immutable"]
    return kept


def config_keys(obj: Obj) -> list[str]:
    return sorted({*(obj.get("data") or {}), *(obj.get("binaryData") or {})})


def related_columns(kind: str, obj: Obj) -> dict[str, Any]:
    """The columns of a Service, EndpointSlice, ConfigMap, Secret, PVC, HPA or PDB (``obj`` as the cluster sent it;
    the caller stores ``without_values`` of it)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    labels = (obj.get("metadata") or {}).get("labels") or {}
    cols: dict[str, Any] = {
        "kind": kind,
        "selector": None,
        "keys": [],
        "target_kind": "",
        "target_name": "",
        "phase": "",
    }
    if kind == "Service":
        cols["selector"] = spec.get("selector") or None
    elif kind == "PodDisruptionBudget":
        cols["selector"] = spec.get("selector")
    elif kind == "ConfigMap":
        cols["keys"] = config_keys(obj)
    elif kind == "EndpointSlice":
        cols["target_kind"], cols["target_name"] = "Service", labels.get("kubernetes.io/service-name", "")
    elif kind == "HorizontalPodAutoscaler":
        target = spec.get("scaleTargetRef") or {}
        cols["target_kind"], cols["target_name"] = target.get("kind", ""), target.get("name", "")
    elif kind == "PersistentVolumeClaim":
        cols["phase"] = status.get("phase", "")
    return cols
