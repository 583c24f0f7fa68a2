"""API defaulting and validation, run on every write as a Store admission hook.

Defaults follow the ``SetDefaults_*`` functions of kubernetes/pkg/apis/{core,apps,batch}/v1 and
validation messages follow ``pkg/apis/*/validation``, so a 422 reads like a real cluster's.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from democluster import cron, errors
from democluster.resources import Resource
from democluster.selectors import match_label_selector

Obj = dict[str, Any]
Cause = dict[str, str]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")

LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
ENV_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must "
    "not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation "
    "is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
QUANTITY_MSG = "must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(text: Any) -> Decimal | None:
    """The value of a resource quantity (``500m``, ``1Gi``, ``2e3``), or None when it does not parse."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Decimal(str(text))
    if not isinstance(text, str):
        return None
    match = QUANTITY.match(text)
    if not match:
        return None
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    if suffix in _SUFFIXES:
        return value * _SUFFIXES[suffix]
    if suffix[:1] in ("e", "E"):
        try:
            return value * Decimal(10) ** int(suffix[1:])
        except ValueError:
            return None
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def invalid_value(field: str, value: Any, detail: str) -> Cause:
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {_fmt(value)}: {detail}", "field": field}


def required(field: str, detail: str = "") -> Cause:
    return {
        "reason": "FieldValueRequired",
        "message": "Required value" + (f": {detail}" if detail else ""),
        "field": field,
    }


def unsupported(field: str, value: Any, supported: list[str]) -> Cause:
    values = ", ".join(json.dumps(s) for s in supported)
    return {
        "reason": "FieldValueNotSupported",
        "message": f"Unsupported value: {_fmt(value)}: supported values: {values}",
        "field": field,
    }


def forbidden(field: str, detail: str) -> Cause:
    return {"reason": "FieldValueForbidden", "message": f"Forbidden: {detail}", "field": field}


def duplicate(field: str, value: Any) -> Cause:
    return {"reason": "FieldValueDuplicate", "message": f"Duplicate value: {_fmt(value)}", "field": field}


# --- defaulting ----------------------------------------------------------------------------------


def _image_pull_policy(image: str) -> str:
    last = (image or "").rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("scheme", "HTTP")
    if isinstance(probe.get("grpc"), dict):
        probe["grpc"].setdefault("service", "")


def _default_container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = _image_pull_policy(container.get("image") or "")
    container.setdefault("resources", {})
    for port in container.get("ports") or ():
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or ():
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(probe))


def default_pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or ():
            _default_container(container)
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, dict):
            continue
        for source in ("secret", "configMap"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
        if not any(k for k in volume if k != "name"):
            volume["emptyDir"] = {}


def _default_template(template: Any) -> None:
    if isinstance(template, dict):
        default_pod_spec(template.setdefault("spec", {}))


def _qos_class(spec: Obj) -> str:
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or []) if isinstance(c, dict)]
    requests_seen = limits_seen = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        requests_seen |= bool(requests)
        limits_seen |= bool(limits)
        if not ("cpu" in limits and "memory" in limits):
            guaranteed = False
        for name, value in requests.items():
            if name in ("cpu", "memory") and parse_quantity(value) != parse_quantity(limits.get(name)):
                guaranteed = False
    if not requests_seen and not limits_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed and containers else "Burstable"


def _default_rolling(strategy: Obj, kind: str) -> None:
    if kind == "DaemonSet":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    else:
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")


_cluster_ip_counter = [10]


def default(res: Resource, obj: Obj, old: Obj | None) -> None:
    """Fill in what the API server defaults, in place."""
    kind = res.kind
    spec = obj.get("spec")
    if kind == "Pod":
        spec = obj.setdefault("spec", {})
        default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        if old is None and "tolerations" not in spec:
            spec["tolerations"] = [
                {
                    "key": f"node.kubernetes.io/{taint}",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
                for taint in ("not-ready", "unreachable")
            ]
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        if "qosClass" not in status:
            status["qosClass"] = _qos_class(spec)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and isinstance(spec, dict):
        if kind != "DaemonSet":
            spec.setdefault("replicas", 1)
        if kind in ("Deployment", "StatefulSet", "DaemonSet"):
            spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Deployment":
            strategy = spec.setdefault("strategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                _default_rolling(strategy, kind)
            spec.setdefault("progressDeadlineSeconds", 600)
        elif kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            strategy = spec.setdefault("updateStrategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
            retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
            retention.setdefault("whenDeleted", "Retain")
            retention.setdefault("whenScaled", "Retain")
        elif kind == "DaemonSet":
            strategy = spec.setdefault("updateStrategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                _default_rolling(strategy, kind)
        _default_template(spec.get("template"))
    elif kind == "Job" and isinstance(spec, dict):
        _default_job(obj, spec, old)
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_spec = (spec.get("jobTemplate") or {}).get("spec")
        if isinstance(job_spec, dict):
            _default_template(job_spec.get("template"))
    elif kind == "Service":
        _default_service(obj, old)
    elif kind == "Secret":
        _default_secret(obj)
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        if old is None:
            obj["status"] = {"phase": "Pending"}
    elif kind == "HorizontalPodAutoscaler" and isinstance(spec, dict):
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ]
        if old is None:
            obj["status"] = {"currentMetrics": None, "desiredReplicas": 0}
    elif kind == "EndpointSlice":
        for port in obj.get("ports") or ():
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
    elif kind == "Namespace":
        name = obj["metadata"].get("name", "")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")


def _default_secret(obj: Obj) -> None:
    """As the Secret's JSON decoding and defaults: ``data`` values are base64 (a bad one is a 400, as Go's
    []byte decoding fails), ``stringData`` is merged into ``data`` (winning) and never stored, ``type`` is Opaque."""
    data = obj.get("data")
    if data is not None and not isinstance(data, dict):
        raise errors.bad_request('Secret in version "v1" cannot be handled as a Secret: data must be an object')
    for value in (data or {}).values():
        try:
            base64.b64decode(value if isinstance(value, str) else "", validate=True)
        except (binascii.Error, ValueError):
            raise errors.bad_request(
                'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0'
            ) from None
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        merged = dict(data or {})
        merged.update({k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()})
        obj["data"] = merged
    obj.setdefault("type", "Opaque")


def _validate_config_keys(data: Any, field: str) -> list[Cause]:
    return [
        invalid_value(f"{field}[{key}]", key, CONFIG_KEY_MSG)
        for key in (data or {})
        if isinstance(data, dict) and not CONFIG_KEY.match(key)
    ]


def _default_job(obj: Obj, spec: Obj, old: Obj | None) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    if spec.get("manualSelector") is None:
        spec["manualSelector"] = False
    if spec["manualSelector"] is False:
        m = obj["metadata"]
        uid = (old or {}).get("metadata", {}).get("uid") or m.get("uid")
        name = m.get("name", "")
        template = spec.setdefault("template", {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        if uid:
            labels.setdefault("controller-uid", uid)
            labels.setdefault("batch.kubernetes.io/controller-uid", uid)
            if "selector" not in spec:
                spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels.setdefault("job-name", name)
        labels.setdefault("batch.kubernetes.io/job-name", name)
    if not obj["metadata"].get("labels"):
        # As the Job strategy: a Job without labels takes its template's.
        obj["metadata"]["labels"] = dict((spec.get("template") or {}).get("metadata", {}).get("labels") or {})
        if not obj["metadata"]["labels"]:
            obj["metadata"].pop("labels")
    _default_template(spec.get("template"))


def _default_service(obj: Obj, old: Obj | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        old_spec = (old or {}).get("spec") or {}
        if not spec.get("clusterIP"):
            if old_spec.get("clusterIP"):
                spec["clusterIP"] = old_spec["clusterIP"]
            else:
                _cluster_ip_counter[0] += 1
                n = _cluster_ip_counter[0]
                spec["clusterIP"] = str(ipaddress.IPv4Address("10.96.0.0") + n)
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


# --- validation ----------------------------------------------------------------------------------


def _validate_name(obj: Obj, kind: str) -> list[Cause]:
    name = obj["metadata"].get("name", "")
    pattern, message = (
        (DNS1123_LABEL, LABEL_MSG) if kind in ("Namespace", "Service") else (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG)
    )
    if not pattern.match(name) or len(name) > 253:
        return [invalid_value("metadata.name", name, message)]
    return []


LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def validate_labels(labels: Any, path: str) -> list[Cause]:
    """Label keys (an optional DNS-subdomain prefix and a name of at most 63) and values, as ValidateLabels."""
    if not isinstance(labels, dict):
        return []
    causes: list[Cause] = []
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not LABEL_NAME.match(name) or len(name) > 63:
            causes.append(invalid_value(path, key, LABEL_NAME_MSG))
        elif prefix and (not DNS1123_SUBDOMAIN.match(prefix) or len(prefix) > 253):
            causes.append(invalid_value(path, key, "prefix part " + SUBDOMAIN_MSG))
        text = value if isinstance(value, str) else str(value)
        if len(text) > 63:
            causes.append(invalid_value(path, text, "must be no more than 63 characters"))
        elif not LABEL_VALUE.match(text):
            causes.append(invalid_value(path, text, LABEL_VALUE_MSG))
    return causes


def _validate_resources(container: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    resources = container.get("resources") or {}
    parsed: dict[str, dict[str, Decimal]] = {}
    for section in ("limits", "requests"):
        parsed[section] = {}
        for name, value in (resources.get(section) or {}).items():
            quantity = parse_quantity(value)
            if quantity is None:
                causes.append(invalid_value(f"{path}.resources.{section}[{name}]", value, QUANTITY_MSG))
            elif quantity < 0:
                causes.append(
                    invalid_value(f"{path}.resources.{section}[{name}]", value, "must be greater than or equal to 0")
                )
            else:
                parsed[section][name] = quantity
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            raw_limit = (resources.get("limits") or {}).get(name)
            causes.append(
                invalid_value(
                    f"{path}.resources.requests",
                    (resources.get("requests") or {}).get(name),
                    f"must be less than or equal to {name} limit of {raw_limit}",
                )
            )
    return causes


def _validate_container(container: Any, path: str, names: set[str]) -> list[Cause]:
    if not isinstance(container, dict):
        return [invalid_value(path, "", "must be an object")]
    causes: list[Cause] = []
    name = container.get("name")
    if not name:
        causes.append(required(f"{path}.name"))
    elif not DNS1123_LABEL.match(name) or len(name) > 63:
        causes.append(invalid_value(f"{path}.name", name, LABEL_MSG))
    elif name in names:
        causes.append(duplicate(f"{path}.name", name))
    if name:
        names.add(name)
    if not container.get("image"):
        causes.append(required(f"{path}.image"))
    for i, env in enumerate(container.get("env") or ()):
        env_name = (env or {}).get("name") if isinstance(env, dict) else None
        if not env_name:
            causes.append(required(f"{path}.env[{i}].name"))
        elif not ENV_VAR_NAME.match(env_name):
            causes.append(invalid_value(f"{path}.env[{i}].name", env_name, ENV_MSG))
    for i, port in enumerate(container.get("ports") or ()):
        if not isinstance(port, dict):
            continue
        number = port.get("containerPort")
        if number is None:
            causes.append(required(f"{path}.ports[{i}].containerPort"))
        elif not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                invalid_value(f"{path}.ports[{i}].containerPort", number, "must be between 1 and 65535, inclusive")
            )
        host_port = port.get("hostPort")
        if host_port is not None and (not isinstance(host_port, int) or not 0 <= host_port <= 65535):
            causes.append(
                invalid_value(f"{path}.ports[{i}].hostPort", host_port, "must be between 1 and 65535, inclusive")
            )
        if port.get("protocol") not in (None, "TCP", "UDP", "SCTP"):
            causes.append(unsupported(f"{path}.ports[{i}].protocol", port["protocol"], ["SCTP", "TCP", "UDP"]))
    causes += _validate_resources(container, path)
    policy = container.get("imagePullPolicy")
    if policy not in (None, "Always", "IfNotPresent", "Never"):
        causes.append(unsupported(f"{path}.imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"]))
    return causes


def validate_pod_spec(
    spec: Any, path: str, restart_policies: tuple[str, ...] = ("Always", "OnFailure", "Never")
) -> list[Cause]:
    if not isinstance(spec, dict):
        return [required(path)]
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(key) or ()):
            causes += _validate_container(container, f"{path}.{key}[{i}]", names)
    policy = spec.get("restartPolicy")
    if policy not in restart_policies:
        causes.append(unsupported(f"{path}.restartPolicy", policy, list(restart_policies)))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        causes.append(
            invalid_value(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0")
        )
    if spec.get("dnsPolicy") not in ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"):
        causes.append(
            unsupported(
                f"{path}.dnsPolicy",
                spec.get("dnsPolicy"),
                ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
            )
        )
    return causes


def _non_negative(spec: Obj, field: str, path: str) -> list[Cause]:
    value = spec.get(field)
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid_value(f"{path}.{field}", value, "must be greater than or equal to 0")]
    return []


def _validate_selector_template(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    selector = spec.get("selector")
    template = spec.get("template")
    if not selector:
        causes.append(required(f"{path}.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(invalid_value(f"{path}.selector", selector, "empty selector is invalid for deployment"))
    if not isinstance(template, dict):
        causes.append(required(f"{path}.template"))
        return causes
    labels = (template.get("metadata") or {}).get("labels") or {}
    has_terms = bool(selector and (selector.get("matchLabels") or selector.get("matchExpressions")))
    if has_terms and not match_label_selector(selector, labels):
        causes.append(
            invalid_value(
                f"{path}.template.metadata.labels",
                "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in labels.items()) + "}",
                "`selector` does not match template `labels`",
            )
        )
    return causes


def _intstr_ok(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return isinstance(value, str) and re.fullmatch(r"\d+%", value) is not None


def validate(res: Resource, obj: Obj, old: Obj | None) -> list[Cause]:
    kind = res.kind
    causes = _validate_name(obj, kind) if old is None else []
    causes += validate_labels(obj["metadata"].get("labels"), "metadata.labels")
    spec = obj.get("spec")
    if kind == "Pod":
        if old is None or spec != old.get("spec"):  # an unchanged spec was valid when it was stored
            causes += validate_pod_spec(spec, "spec")
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        if not isinstance(spec, dict):
            return causes + [required("spec")]
        for field in ("replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
            causes += _non_negative(spec, field, "spec")
        causes += _validate_selector_template(spec, "spec")
        if isinstance(spec.get("template"), dict):
            causes += validate_pod_spec(spec["template"].get("spec"), "spec.template.spec", ("Always",))
        strategy = spec.get("strategy") if kind == "Deployment" else None
        if isinstance(strategy, dict):
            if strategy.get("type") not in ("RollingUpdate", "Recreate"):
                causes.append(unsupported("spec.strategy.type", strategy.get("type"), ["Recreate", "RollingUpdate"]))
            elif strategy["type"] == "Recreate" and strategy.get("rollingUpdate") is not None:
                causes.append(
                    forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
                )
            rolling = strategy.get("rollingUpdate") or {}
            for field in ("maxUnavailable", "maxSurge"):
                if field in rolling and not _intstr_ok(rolling[field]):
                    causes.append(
                        invalid_value(
                            f"spec.strategy.rollingUpdate.{field}",
                            rolling[field],
                            "must be greater than or equal to 0",
                        )
                    )
        if old is not None and kind != "Deployment":
            if (old.get("spec") or {}).get("selector") != spec.get("selector"):
                causes.append(invalid_value("spec.selector", "", "field is immutable"))
        elif old is not None and (old.get("spec") or {}).get("selector") != spec.get("selector"):
            causes.append(invalid_value("spec.selector", "", "field is immutable"))
    elif kind == "Job":
        if not isinstance(spec, dict):
            return causes + [required("spec")]
        for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
            causes += _non_negative(spec, field, "spec")
        template = spec.get("template") or {}
        causes += validate_pod_spec(template.get("spec"), "spec.template.spec", ("OnFailure", "Never"))
        if old is not None:
            old_spec = old.get("spec") or {}
            if old_spec.get("template") != spec.get("template"):
                causes.append(invalid_value("spec.template", "core.PodTemplateSpec{...}", "field is immutable"))
            if old_spec.get("selector") != spec.get("selector"):
                causes.append(invalid_value("spec.selector", "", "field is immutable"))
            if old_spec.get("completions") != spec.get("completions"):
                causes.append(invalid_value("spec.completions", spec.get("completions"), "field is immutable"))
    elif kind == "CronJob":
        if not isinstance(spec, dict):
            return causes + [required("spec")]
        schedule = spec.get("schedule")
        if not schedule:
            causes.append(required("spec.schedule"))
        else:
            causes += [invalid_value("spec.schedule", schedule, why) for why in cron.schedule_errors(schedule)]
        time_zone = spec.get("timeZone")
        causes += [invalid_value("spec.timeZone", time_zone, why) for why in cron.time_zone_errors(time_zone)]
        if spec.get("concurrencyPolicy") not in ("Allow", "Forbid", "Replace"):
            causes.append(
                unsupported("spec.concurrencyPolicy", spec.get("concurrencyPolicy"), ["Allow", "Forbid", "Replace"])
            )
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        causes += validate_pod_spec(
            (job_spec.get("template") or {}).get("spec"), "spec.jobTemplate.spec.template.spec", ("OnFailure", "Never")
        )
    elif kind == "Secret":
        causes += _validate_config_keys(obj.get("data"), "data")
    elif kind == "ConfigMap":
        causes += _validate_config_keys(obj.get("data"), "data")
        causes += _validate_config_keys(obj.get("binaryData"), "binaryData")
    elif kind == "PodDisruptionBudget" and isinstance(spec, dict):
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            shown = (
                f'{{"MinAvailable":{json.dumps(spec["minAvailable"])},"Selector":null,'
                f'"MaxUnavailable":{json.dumps(spec["maxUnavailable"])},"UnhealthyPodEvictionPolicy":null}}'
            )
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {shown}: minAvailable and maxUnavailable cannot be both set",
                    "field": "spec",
                }
            )
    elif kind == "HorizontalPodAutoscaler":
        if not isinstance(spec, dict):
            return causes + [required("spec")]
        maximum, minimum = spec.get("maxReplicas") or 0, spec.get("minReplicas") or 0
        if maximum <= 0:
            causes.append(required("spec.maxReplicas", "must be set and greater than 0"))
        if maximum < minimum:
            causes.append(invalid_value("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`"))
        target = spec.get("scaleTargetRef") or {}
        if not target.get("kind"):
            causes.append(required("spec.scaleTargetRef.kind"))
        if not target.get("name"):
            causes.append(required("spec.scaleTargetRef.name"))
        if "/" not in (target.get("apiVersion") or ""):
            causes.append(
                invalid_value(
                    "spec.scaleTargetRef.apiVersion",
                    target.get("apiVersion") or "",
                    "apiVersion must specify API group",
                )
            )
    elif kind == "EndpointSlice":
        if obj.get("addressType") not in ("IPv4", "IPv6", "FQDN"):
            causes.append(required("addressType"))
    elif kind == "Service" and isinstance(spec, dict):
        for i, port in enumerate(spec.get("ports") or ()):
            number = (port or {}).get("port") if isinstance(port, dict) else None
            if not isinstance(number, int) or not 1 <= number <= 65535:
                causes.append(invalid_value(f"spec.ports[{i}].port", number, "must be between 1 and 65535, inclusive"))
    return causes


def admit(res: Resource, new: Obj, old: Obj | None) -> None:
    """The Store admission hook: default, then validate (422 with causes)."""
    default(res, new, old)
    causes = validate(res, new, old)
    if causes:
        raise errors.invalid(res, new["metadata"].get("name", ""), causes)


def register(store: Any) -> None:
    """Install the hook, and default the objects the store created before it was installed."""
    if admit in store.admission:
        return
    store.admission.append(admit)
    from democluster.resources import NAMESPACES
    from democluster.store import clone

    for ns in list(store.list(NAMESPACES)):
        fixed = clone(ns)
        default(NAMESPACES, fixed, ns)
        if fixed != ns:
            fixed["metadata"]["resourceVersion"] = ns["metadata"]["resourceVersion"]
            store.objects[NAMESPACES.key][("", ns["metadata"]["name"])] = fixed
