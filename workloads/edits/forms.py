"""The edit form: plain Django forms and formsets bound to the object as it was read.

``TemplateEditor`` bundles the workload-level form, the Pod-level form and one formset per container list
(containers, initContainers), each container with its own env and ports formsets (prefixes nest:
``containers-0-env-2-name``). ``desired()`` applies only what the person changed to a copy of the object, so
the patch carries nothing else; it also records which form each list item came from, so the API server's 422
causes (``spec.template.spec.containers[0].env[2].name``) land on the field they name.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from workloads.edits import validators as v
from workloads.objects import pod_template_of, template_path

NOISY_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
PROBE_TYPES = [("", gettext_lazy("none")), ("http", "HTTP GET"), ("tcp", "TCP"), ("exec", "exec")]
STRATEGIES = {
    "Deployment": [("RollingUpdate", "RollingUpdate"), ("Recreate", "Recreate")],
    "StatefulSet": [("RollingUpdate", "RollingUpdate"), ("OnDelete", "OnDelete")],
    "DaemonSet": [("RollingUpdate", "RollingUpdate"), ("OnDelete", "OnDelete")],
}
WORKLOAD_FIELDS = {
    "Deployment": [
        "replicas",
        "strategy_type",
        "max_surge",
        "max_unavailable",
        "min_ready_seconds",
        "progress_deadline_seconds",
    ],
    "StatefulSet": ["replicas", "strategy_type", "partition", "min_ready_seconds"],
    "DaemonSet": ["strategy_type", "max_surge", "max_unavailable", "min_ready_seconds"],
    "ReplicaSet": ["replicas", "min_ready_seconds"],
    "Job": ["parallelism", "completions"],
    "CronJob": ["schedule", "suspend"],
}
SPEC_KEYS = {
    "replicas": "replicas",
    "min_ready_seconds": "minReadySeconds",
    "progress_deadline_seconds": "progressDeadlineSeconds",
    "parallelism": "parallelism",
    "completions": "completions",
    "schedule": "schedule",
    "suspend": "suspend",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _int_or_str(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class MultilineList(forms.CharField):
    """A list of strings, one per line (command, args)."""

    widget = forms.Textarea(attrs={"rows": 2, "class": "mono"})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return _lines(super().to_python(value) or "")

    def has_changed(self, initial: Any, data: Any) -> bool:
        return (initial or []) != self.to_python(data)


class KeyValueField(forms.CharField):
    """A string map, one ``key=value`` per line (labels, annotations, node selector)."""

    widget = forms.Textarea(attrs={"rows": 3, "class": "mono"})

    def __init__(self, *, label_values: bool = False, **kwargs: Any) -> None:
        self.label_values = label_values
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(f"{k}={val}" for k, val in value.items()) if isinstance(value, dict) else value

    def to_python(self, value: Any) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        result: dict[str, str] = {}
        errors: list[ValidationError] = []
        for line in _lines(super().to_python(value) or ""):
            key, sep, val = line.partition("=")
            key, val = key.strip(), val.strip()
            if not sep:
                errors.append(ValidationError(_("%(line)s: write key=value.") % {"line": line}))
                continue
            try:
                v.label_key(key)
                if self.label_values:
                    v.label_value(val)
            except ValidationError as exc:
                errors.append(exc)
            result[key] = val
        if errors:
            raise ValidationError(errors)
        return result

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return (initial or {}) != self.to_python(data)
        except ValidationError:
            return True


def _optional_int(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(
        required=False, min_value=0, max_value=v.INT32_MAX, widget=forms.NumberInput(attrs={"class": "num"}), **kwargs
    )


# --- workload level --------------------------------------------------------------------------------------------------


class WorkloadForm(forms.Form):
    replicas = forms.IntegerField(
        label=gettext_lazy("Replicas"),
        min_value=0,
        max_value=v.INT32_MAX,
        widget=forms.NumberInput(attrs={"class": "num"}),
    )
    strategy_type = forms.ChoiceField(label=gettext_lazy("Strategy"), choices=[])
    max_surge = forms.CharField(
        label=gettext_lazy("Max surge"),
        required=False,
        validators=[v.int_or_percent],
        help_text=gettext_lazy("e.g. 1 or 25%"),
    )
    max_unavailable = forms.CharField(
        label=gettext_lazy("Max unavailable"), required=False, validators=[v.int_or_percent]
    )
    min_ready_seconds = _optional_int(label=gettext_lazy("Min ready seconds"))
    progress_deadline_seconds = forms.IntegerField(
        label=gettext_lazy("Progress deadline seconds"), required=False, min_value=1, max_value=v.INT32_MAX
    )
    partition = _optional_int(
        label=gettext_lazy("Partition"),
        help_text=gettext_lazy("Pods with an ordinal below this keep the old template."),
    )
    parallelism = _optional_int(label=gettext_lazy("Parallelism"))
    completions = _optional_int(label=gettext_lazy("Completions"))
    schedule = forms.CharField(label=gettext_lazy("Schedule"), required=False, validators=[v.cron_schedule])
    suspend = forms.BooleanField(label=gettext_lazy("Suspend"), required=False)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = WORKLOAD_FIELDS.get(kind, [])
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "strategy_type" in self.fields:
            self.fields["strategy_type"].choices = STRATEGIES[kind]

    @staticmethod
    def initial_for(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        spec = obj.get("spec") or {}
        initial: dict[str, Any] = {name: spec.get(key) for name, key in SPEC_KEYS.items()}
        strategy = spec.get("updateStrategy" if kind in ("StatefulSet", "DaemonSet") else "strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        initial.update(
            strategy_type=strategy.get("type") or "RollingUpdate",
            max_surge="" if rolling.get("maxSurge") is None else str(rolling["maxSurge"]),
            max_unavailable="" if rolling.get("maxUnavailable") is None else str(rolling["maxUnavailable"]),
            partition=rolling.get("partition"),
            suspend=bool(spec.get("suspend")),
        )
        return initial

    def apply(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        changed = set(self.changed_data)
        for name, key in SPEC_KEYS.items():
            if name in changed:
                value = self.cleaned_data[name]
                if value is None or value == "":
                    spec.pop(key, None)
                else:
                    spec[key] = value
        strategy_key = "updateStrategy" if self.kind in ("StatefulSet", "DaemonSet") else "strategy"
        if changed & {"strategy_type", "max_surge", "max_unavailable", "partition"}:
            strategy = spec.setdefault(strategy_key, {})
            strategy["type"] = self.cleaned_data["strategy_type"]
            if strategy["type"] != "RollingUpdate":
                strategy.pop("rollingUpdate", None)
                return
            rolling = strategy.setdefault("rollingUpdate", {})
            for name, key in (("max_surge", "maxSurge"), ("max_unavailable", "maxUnavailable")):
                if name in changed:
                    value = self.cleaned_data[name]
                    if value:
                        rolling[key] = _int_or_str(value)
                    else:
                        rolling.pop(key, None)
            if "partition" in changed:
                if self.cleaned_data["partition"] is None:
                    rolling.pop("partition", None)
                else:
                    rolling["partition"] = self.cleaned_data["partition"]


# --- Pod level -------------------------------------------------------------------------------------------------------


class PodForm(forms.Form):
    labels = KeyValueField(
        label_values=True, label=gettext_lazy("Labels"), help_text=gettext_lazy("One key=value per line.")
    )
    annotations = KeyValueField(label=gettext_lazy("Annotations"))
    node_selector = KeyValueField(label_values=True, label=gettext_lazy("Node selector"))
    service_account = forms.CharField(
        required=False, validators=[v.dns1123_subdomain], label=gettext_lazy("Service account")
    )
    termination_grace_period = forms.IntegerField(
        required=False, min_value=0, label=gettext_lazy("Termination grace period (s)")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        annotations = self.initial.get("annotations") or {}
        if any("\n" in value for value in annotations.values()):
            self.fields["annotations"].disabled = True
            self.fields["annotations"].help_text = _("Has multi-line values: edit them in the YAML tab.")

    @staticmethod
    def initial_for(template: dict[str, Any]) -> dict[str, Any]:
        metadata = template.get("metadata") or {}
        spec = template.get("spec") or {}
        return {
            "labels": dict(metadata.get("labels") or {}),
            "annotations": {k: a for k, a in (metadata.get("annotations") or {}).items() if k not in NOISY_ANNOTATIONS},
            "node_selector": dict(spec.get("nodeSelector") or {}),
            "service_account": spec.get("serviceAccountName") or "",
            "termination_grace_period": spec.get("terminationGracePeriodSeconds"),
        }

    def apply(self, template: dict[str, Any]) -> None:
        changed = set(self.changed_data)
        metadata = template.setdefault("metadata", {})
        spec = template.setdefault("spec", {})
        if "labels" in changed:
            _set_or_drop(metadata, "labels", self.cleaned_data["labels"])
        if "annotations" in changed:
            kept = {k: a for k, a in (metadata.get("annotations") or {}).items() if k in NOISY_ANNOTATIONS}
            _set_or_drop(metadata, "annotations", {**kept, **self.cleaned_data["annotations"]})
        if "node_selector" in changed:
            _set_or_drop(spec, "nodeSelector", self.cleaned_data["node_selector"])
        if "service_account" in changed:
            _set_or_drop(spec, "serviceAccountName", self.cleaned_data["service_account"])
        if "termination_grace_period" in changed:
            _set_or_drop(spec, "terminationGracePeriodSeconds", self.cleaned_data["termination_grace_period"])


def _set_or_drop(node: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", {}, []):
        node.pop(key, None)
    else:
        node[key] = value


# --- containers ------------------------------------------------------------------------------------------------------


class ContainerForm(forms.Form):
    original_name = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=gettext_lazy("Name"), validators=[v.dns1123_label])
    image = forms.CharField(
        label=gettext_lazy("Image"),
        validators=[v.image_reference],
        widget=forms.TextInput(attrs={"class": "mono wide"}),
    )
    command = MultilineList(
        label=gettext_lazy("Command"), required=False, help_text=gettext_lazy("One item per line; empty: the image's.")
    )
    args = MultilineList(label=gettext_lazy("Args"), required=False)
    cpu_request = forms.CharField(required=False, label=gettext_lazy("CPU request"))
    cpu_limit = forms.CharField(required=False, label=gettext_lazy("CPU limit"))
    memory_request = forms.CharField(required=False, label=gettext_lazy("Memory request"))
    memory_limit = forms.CharField(required=False, label=gettext_lazy("Memory limit"))
    volume_mounts = forms.CharField(
        label=gettext_lazy("Volume mounts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
        help_text=gettext_lazy("One volume:/mount/path per line; add :ro for read-only."),
    )

    PROBES = (("readiness", "readinessProbe"), ("liveness", "livenessProbe"))
    RESOURCES = (("cpu_request", "requests", "cpu"), ("cpu_limit", "limits", "cpu"))
    RESOURCES += (("memory_request", "requests", "memory"), ("memory_limit", "limits", "memory"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for probe, _key in self.PROBES:
            self.fields[f"{probe}_type"] = forms.ChoiceField(choices=PROBE_TYPES, required=False, label=_("Type"))
            self.fields[f"{probe}_path"] = forms.CharField(required=False, label=_("Path"))
            self.fields[f"{probe}_port"] = forms.CharField(required=False, label=_("Port"))
            self.fields[f"{probe}_command"] = MultilineList(required=False, label=_("Command"))
            self.fields[f"{probe}_initial_delay"] = _optional_int(label=_("Initial delay (s)"))
            self.fields[f"{probe}_period"] = forms.IntegerField(
                required=False,
                min_value=1,
                max_value=v.INT32_MAX,
                label=_("Period (s)"),
                widget=forms.NumberInput(attrs={"class": "num"}),
            )
        if self.initial.get("original_name"):
            # Renaming a container is removing it and adding another; do that explicitly.
            self.fields["name"].disabled = True
        for name in ("command", "args"):
            if any("\n" in item for item in self.initial.get(name) or []):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Has multi-line items: edit it in the YAML tab.")

    @property
    def is_new(self) -> bool:
        return not self.initial.get("original_name")

    def probe_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        names = ("type", "path", "port", "command", "initial_delay", "period")
        return [(probe, [self[f"{probe}_{n}"] for n in names]) for probe, _key in self.PROBES]

    def resource_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _kind, _res in self.RESOURCES]

    @classmethod
    def initial_for(cls, container: dict[str, Any]) -> dict[str, Any]:
        resources = container.get("resources") or {}
        initial: dict[str, Any] = {
            "original_name": container.get("name", ""),
            "name": container.get("name", ""),
            "image": container.get("image", ""),
            "command": list(container.get("command") or []),
            "args": list(container.get("args") or []),
            "volume_mounts": "\n".join(
                f"{m.get('name')}:{m.get('mountPath')}{':ro' if m.get('readOnly') else ''}"
                for m in container.get("volumeMounts") or []
            ),
        }
        for name, group, resource in cls.RESOURCES:
            initial[name] = str((resources.get(group) or {}).get(resource, ""))
        for probe, key in cls.PROBES:
            spec = container.get(key) or {}
            kind = "http" if "httpGet" in spec else "tcp" if "tcpSocket" in spec else "exec" if "exec" in spec else ""
            handler = spec.get("httpGet") or spec.get("tcpSocket") or {}
            initial[f"{probe}_type"] = kind
            initial[f"{probe}_path"] = handler.get("path", "")
            initial[f"{probe}_port"] = "" if handler.get("port") is None else str(handler["port"])
            initial[f"{probe}_command"] = list((spec.get("exec") or {}).get("command") or [])
            initial[f"{probe}_initial_delay"] = spec.get("initialDelaySeconds")
            initial[f"{probe}_period"] = spec.get("periodSeconds")
        return initial

    def clean_volume_mounts(self) -> list[dict[str, Any]]:
        mounts = []
        for line in _lines(self.cleaned_data["volume_mounts"]):
            name, sep, rest = line.partition(":")
            read_only = rest.endswith(":ro")
            path = rest[: -len(":ro")] if read_only else rest
            if not sep or not path.startswith("/"):
                raise ValidationError(_("%(line)s: write volume:/mount/path.") % {"line": line})
            v.dns1123_label(name)
            mounts.append({"name": name, "mountPath": path, **({"readOnly": True} if read_only else {})})
        return mounts

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        parsed = {}
        for name, _group, _resource in self.RESOURCES:
            if data.get(name):
                try:
                    parsed[name] = v.quantity(data[name])
                except ValidationError as exc:
                    self.add_error(name, exc)
        for resource in ("cpu", "memory"):
            request, limit = parsed.get(f"{resource}_request"), parsed.get(f"{resource}_limit")
            if request is not None and limit is not None and request > limit:
                self.add_error(
                    f"{resource}_request",
                    _("The request (%(r)s) is more than the limit (%(l)s).")
                    % {"r": data[f"{resource}_request"], "l": data[f"{resource}_limit"]},
                )
        for probe, _key in self.PROBES:
            kind, port = data.get(f"{probe}_type"), data.get(f"{probe}_port") or ""
            if kind in ("http", "tcp"):
                if not port:
                    self.add_error(f"{probe}_port", _("A probe needs a port (number or name)."))
                elif port.isdigit():
                    try:
                        v.port_number(int(port))
                    except ValidationError as exc:
                        self.add_error(f"{probe}_port", exc)
                else:
                    try:
                        v.port_name(port)
                    except ValidationError as exc:
                        self.add_error(f"{probe}_port", exc)
            if kind == "exec" and not data.get(f"{probe}_command"):
                self.add_error(f"{probe}_command", _("An exec probe needs a command."))
        return data

    def apply(self, container: dict[str, Any]) -> None:
        changed = set(self.changed_data)
        data = self.cleaned_data
        for name in ("name", "image", "command", "args"):
            if name in changed:
                _set_or_drop(container, name, data[name])
        resources = container.get("resources") or {}
        for name, group, resource in self.RESOURCES:
            if name in changed:
                values = dict(resources.get(group) or {})
                _set_or_drop(values, resource, data[name])
                _set_or_drop(resources, group, values)
        if "resources" in container or resources:
            container["resources"] = resources
        if "volume_mounts" in changed:
            old = {m.get("mountPath"): m for m in container.get("volumeMounts") or []}
            mounts = []
            for mount in data["volume_mounts"]:
                kept = dict(old.get(mount["mountPath"]) or {})
                kept.pop("readOnly", None)
                mounts.append({**kept, **mount})
            _set_or_drop(container, "volumeMounts", mounts)
        for probe, key in self.PROBES:
            if not changed & {f for f in self.fields if f.startswith(probe + "_")}:
                continue
            kind = data[f"{probe}_type"]
            if not kind:
                container.pop(key, None)
                continue
            spec = dict(container.get(key) or {})
            for handler in ("httpGet", "tcpSocket", "exec", "grpc"):
                spec.pop(handler, None)
            port = _int_or_str(data[f"{probe}_port"] or "")
            if kind == "http":
                old = (container.get(key) or {}).get("httpGet") or {}
                spec["httpGet"] = {**old, "path": data[f"{probe}_path"] or "/", "port": port}
            elif kind == "tcp":
                spec["tcpSocket"] = {"port": port}
            else:
                spec["exec"] = {"command": data[f"{probe}_command"]}
            _set_or_drop(spec, "initialDelaySeconds", data[f"{probe}_initial_delay"])
            _set_or_drop(spec, "periodSeconds", data[f"{probe}_period"])
            container[key] = spec


class EnvForm(forms.Form):
    # A row of a table: its column heading is the label, said by aria-label (no <label> beside each input).
    name = forms.CharField(
        label=gettext_lazy("Name"),
        validators=[v.env_var_name],
        widget=forms.TextInput(attrs={"class": "mono", "aria-label": gettext_lazy("Name")}),
    )
    value = forms.CharField(
        label=gettext_lazy("Value"),
        required=False,
        strip=False,
        validators=[v.env_value],
        widget=forms.TextInput(attrs={"aria-label": gettext_lazy("Value")}),
    )
    value_from = forms.CharField(required=False, widget=forms.HiddenInput)

    REFERENCES = ("secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef")

    @staticmethod
    def initial_for(item: dict[str, Any]) -> dict[str, Any]:
        value_from = item.get("valueFrom")
        return {
            "name": item.get("name", ""),
            "value": item.get("value", ""),
            "value_from": json.dumps(value_from, sort_keys=True) if value_from else "",
        }

    @classmethod
    def parse_reference(cls, text: str) -> dict[str, Any] | None:
        """The hidden field's valueFrom, or None unless it has the shape Podium wrote there (one known reference,
        a mapping of strings and flags): the field comes back from the browser and may have been changed."""
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in cls.REFERENCES:
            return None
        ref = next(iter(value.values()))
        if not isinstance(ref, dict) or not all(
            isinstance(k, str) and isinstance(x, (str, bool)) for k, x in ref.items()
        ):
            return None
        return value

    def clean_value_from(self) -> dict[str, Any] | None:
        text = self.cleaned_data["value_from"]
        if not text:
            return None
        value = self.parse_reference(text)
        if value is None:
            raise ValidationError(_("Not a valid reference."))
        return value

    def reference(self) -> str:
        """The valueFrom reference as a person reads it; a Secret's value is never read, only named."""
        value = self.parse_reference(self["value_from"].value() or "{}") or {}
        for key, ref in value.items():
            if key in ("secretKeyRef", "configMapKeyRef"):
                source = "Secret" if key == "secretKeyRef" else "ConfigMap"
                return f"{source} {ref.get('name', '')} / {ref.get('key', '')}"
            if key == "fieldRef":
                return f"field {ref.get('fieldPath', '')}"
            if key == "resourceFieldRef":
                return f"resource {ref.get('resource', '')}"
        return ""

    def build(self, old: dict[str, Any] | None) -> dict[str, Any]:
        item = {"name": self.cleaned_data["name"]}
        if self.cleaned_data["value_from"]:
            item["valueFrom"] = self.cleaned_data["value_from"]
        else:
            item["value"] = self.cleaned_data["value"]
        if old is not None and "value" not in old and item.get("value") == "":
            item.pop("value")  # the API server drops empty values; keep the read form
        return item


class PortForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        validators=[v.port_name],
        widget=forms.TextInput(attrs={"aria-label": gettext_lazy("Name")}),
    )
    container_port = forms.IntegerField(
        label=gettext_lazy("Port"),
        validators=[v.port_number],
        widget=forms.NumberInput(attrs={"aria-label": gettext_lazy("Port")}),
    )
    protocol = forms.ChoiceField(
        label=gettext_lazy("Protocol"),
        choices=[("TCP", "TCP"), ("UDP", "UDP"), ("SCTP", "SCTP")],
        initial="TCP",
        widget=forms.Select(attrs={"aria-label": gettext_lazy("Protocol")}),
    )

    @staticmethod
    def initial_for(item: dict[str, Any]) -> dict[str, Any]:
        return {"name": item.get("name", ""), "container_port": item.get("containerPort"), "protocol": "TCP"} | (
            {"protocol": item["protocol"]} if item.get("protocol") else {}
        )

    def build(self, old: dict[str, Any] | None) -> dict[str, Any]:
        item = dict(old or {})
        item["containerPort"] = self.cleaned_data["container_port"]
        _set_or_drop(item, "name", self.cleaned_data["name"])
        if "protocol" in self.changed_data or old is None or "protocol" in item:
            item["protocol"] = self.cleaned_data["protocol"] or "TCP"
        return item


ContainerFormSet = forms.formset_factory(ContainerForm, extra=0, can_delete=True)
EnvFormSet = forms.formset_factory(EnvForm, extra=0, can_delete=True)
PortFormSet = forms.formset_factory(PortForm, extra=0, can_delete=True)


def _included(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The forms that make list items, in order: not deleted, and not a blank row someone added."""
    result = []
    for index, form in enumerate(formset.forms):
        if formset.can_delete and formset._should_delete_form(form):
            continue
        if index >= formset.initial_form_count() and not form.has_changed():
            continue
        result.append(form)
    return result


@dataclass
class ContainerEntry:
    form: ContainerForm
    env: forms.BaseFormSet
    ports: forms.BaseFormSet

    @property
    def deleted(self) -> bool:
        return bool(self.form.is_bound and self.form.data.get(f"{self.form.prefix}-DELETE"))

    @property
    def sidecar(self) -> bool:
        return bool(self.form.initial.get("restart_policy") == "Always")


@dataclass
class ContainerGroup:
    key: str  # "containers" or "initContainers"
    title: str
    formset: forms.BaseFormSet
    entries: list[ContainerEntry] = field(default_factory=list)


class TemplateEditor:
    """Every form of the edit page, bound together to one object as read."""

    def __init__(self, kind: str, obj: dict[str, Any], data: QueryDict | None = None) -> None:
        self.kind = kind
        self.obj = obj
        self.data = data
        template = pod_template_of(kind, obj)
        pod_spec = template.get("spec") or {}
        self.workload = WorkloadForm(data, kind=kind, initial=WorkloadForm.initial_for(kind, obj), prefix="workload")
        self.pod = PodForm(data, initial=PodForm.initial_for(template), prefix="pod")
        self.groups: list[ContainerGroup] = []
        for key, prefix, title in (
            ("containers", "containers", _("Containers")),
            ("initContainers", "init", _("Init containers")),
        ):
            items = pod_spec.get(key) or []
            initial = [ContainerForm.initial_for(c) | {"restart_policy": c.get("restartPolicy")} for c in items]
            formset = ContainerFormSet(data, initial=initial, prefix=prefix)
            if key == "containers":
                formset.min_num, formset.validate_min = 1, True
            group = ContainerGroup(key, title, formset)
            for index, form in enumerate(formset.forms):
                container = items[index] if index < len(items) else {}
                group.entries.append(
                    ContainerEntry(
                        form,
                        EnvFormSet(
                            data,
                            initial=[EnvForm.initial_for(e) for e in container.get("env") or []],
                            prefix=f"{form.prefix}-env",
                        ),
                        PortFormSet(
                            data,
                            initial=[PortForm.initial_for(p) for p in container.get("ports") or []],
                            prefix=f"{form.prefix}-ports",
                        ),
                    )
                )
            self.groups.append(group)
        self.non_field_errors: list[str] = []
        # path in the object -> the form that made it; filled by desired()
        self.path_forms: dict[str, forms.Form] = {}

    # -- rows ---------------------------------------------------------------------------------------------------------

    def formset_prefixes(self) -> set[str]:
        prefixes = {g.formset.prefix for g in self.groups}
        for group in self.groups:
            for entry in group.entries:
                prefixes |= {entry.env.prefix, entry.ports.prefix}
        return prefixes

    def row_prefixes(self) -> set[str]:
        prefixes = set()
        for group in self.groups:
            for entry in group.entries:
                prefixes.add(entry.form.prefix)
                prefixes |= {f.prefix for f in entry.env.forms} | {f.prefix for f in entry.ports.forms}
        return prefixes

    # -- validation ---------------------------------------------------------------------------------------------------

    def is_valid(self) -> bool:
        valid = self.workload.is_valid() & self.pod.is_valid()
        for group in self.groups:
            valid &= group.formset.is_valid()
            for entry in group.entries:
                if entry.deleted:
                    continue
                valid &= entry.env.is_valid() & entry.ports.is_valid()
                names = [f.cleaned_data.get("name") for f in _included(entry.env) if f.is_valid()]
                for form in _included(entry.env):
                    if form.is_valid() and names.count(form.cleaned_data["name"]) > 1:
                        form.add_error("name", _("This variable is defined twice."))
                        valid = False
            names = [e.form.cleaned_data.get("name") for e in self._entries(group) if e.form.is_valid()]
            for entry in self._entries(group):
                if entry.form.is_valid() and names.count(entry.form.cleaned_data["name"]) > 1:
                    entry.form.add_error("name", _("Two containers cannot have the same name."))
                    valid = False
        return bool(valid)

    def _entries(self, group: ContainerGroup) -> list[ContainerEntry]:
        included = set(map(id, _included(group.formset)))
        return [e for e in group.entries if id(e.form) in included]

    def error_summary(self) -> list[str]:
        """Every error as "field: message", for the audit trail."""
        found: list[str] = list(self.non_field_errors)
        forms_: list[forms.Form] = [self.workload, self.pod]
        for group in self.groups:
            found += [str(e) for e in group.formset.non_form_errors()]
            for entry in group.entries:
                forms_ += [entry.form, *entry.env.forms, *entry.ports.forms]
        for form in forms_:
            if form.is_bound:
                for name, errors in form.errors.items():
                    for error in errors:
                        found.append(f"{form.prefix}-{name}: {error[:200]}")
        return found

    # -- building -----------------------------------------------------------------------------------------------------

    def desired(self) -> dict[str, Any]:
        """The object as read, with what the person changed; call after is_valid()."""
        obj = copy.deepcopy(self.obj)
        base = ".".join(template_path(self.kind))
        self.path_forms = {"spec": self.workload, f"{base}.metadata": self.pod, f"{base}.spec": self.pod}
        self.workload.apply(obj)
        template = pod_template_of(self.kind, obj, create=True)
        self.pod.apply(template)
        spec = template.setdefault("spec", {})
        for group in self.groups:
            old = {c.get("name"): c for c in spec.get(group.key) or []}
            containers = []
            for index, entry in enumerate(self._entries(group)):
                path = f"{base}.spec.{group.key}[{index}]"
                self.path_forms[path] = entry.form
                container = copy.deepcopy(old.get(entry.form.initial.get("original_name")) or {})
                entry.form.apply(container)
                for list_key, formset in (("env", entry.env), ("ports", entry.ports)):
                    if entry.form.is_new and not container.get(list_key) and not _included(formset):
                        continue
                    items = self._build_list(formset, container.get(list_key) or [], list_key, f"{path}.{list_key}")
                    _set_or_drop(container, list_key, items)
                containers.append(container)
            _set_or_drop(spec, group.key, containers)
        return obj

    def _build_list(self, formset: forms.BaseFormSet, old: list[dict], list_key: str, path: str) -> list[dict]:
        old_items = list(old)
        items = []
        for index, form in enumerate(_included(formset)):
            self.path_forms[f"{path}[{index}]"] = form
            previous = old_items[form_index(formset, form)] if form_index(formset, form) < len(old_items) else None
            if not form.has_changed() and previous is not None:
                items.append(previous)
            else:
                items.append(form.build(previous))
        return items

    # -- the API server's errors --------------------------------------------------------------------------------------

    def add_cause(self, path: str, message: str) -> None:
        """Put a 422 cause on the field its path names; otherwise on the page."""
        target, rest = None, ""
        for prefix, form in sorted(self.path_forms.items(), key=lambda item: -len(item[0])):
            if path == prefix or path.startswith((prefix + ".", prefix + "[")):
                target, rest = form, path[len(prefix) :].lstrip(".")
                break
        name = _field_for(target, rest, message) if target is not None else None
        if target is not None and name in target.fields:
            target.add_error(name, message)
        else:
            self.non_field_errors.append(f"{path}: {message}" if path else message)


def form_index(formset: forms.BaseFormSet, form: forms.Form) -> int:
    return formset.forms.index(form)


_CAUSE_FIELDS: list[tuple[str, str]] = [
    (r"^replicas", "replicas"),
    (r"^(strategy|updateStrategy)\.rollingUpdate\.maxSurge", "max_surge"),
    (r"^(strategy|updateStrategy)\.rollingUpdate\.maxUnavailable", "max_unavailable"),
    (r"^(strategy|updateStrategy)\.rollingUpdate\.partition", "partition"),
    (r"^(strategy|updateStrategy)", "strategy_type"),
    (r"^minReadySeconds", "min_ready_seconds"),
    (r"^progressDeadlineSeconds", "progress_deadline_seconds"),
    (r"^parallelism", "parallelism"),
    (r"^completions", "completions"),
    (r"^schedule", "schedule"),
    (r"^(labels|selector)", "labels"),
    (r"^annotations", "annotations"),
    (r"^nodeSelector", "node_selector"),
    (r"^serviceAccount", "service_account"),
    (r"^terminationGracePeriodSeconds", "termination_grace_period"),
    (r"^image", "image"),
    (r"^name", "name"),
    (r"^command", "command"),
    (r"^args", "args"),
    (r"^volumeMounts", "volume_mounts"),
    (r"^readinessProbe.*port", "readiness_port"),
    (r"^readinessProbe", "readiness_type"),
    (r"^livenessProbe.*port", "liveness_port"),
    (r"^livenessProbe", "liveness_type"),
    (r"^value", "value"),
    (r"^containerPort", "container_port"),
    (r"^protocol", "protocol"),
]


def _field_for(form: forms.Form, rest: str, message: str) -> str | None:
    rest = rest.removeprefix("spec.")
    resources = re.match(r"^resources\.(requests|limits)(?:\[(\w+)\]|\.(\w+))?", rest)
    if resources:
        group = "request" if resources.group(1) == "requests" else "limit"
        resource = resources.group(2) or resources.group(3) or ("memory" if "memory" in message else "cpu")
        return f"{resource}_{group}"
    for pattern, name in _CAUSE_FIELDS:
        if re.match(pattern, rest):
            return name
    return None
