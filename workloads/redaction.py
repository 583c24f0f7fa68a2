"""What Podium never shows: literal values that look secret, on every page, in the audit trail and in frames.

The rules, for any object read from a cluster or written by a person (a live object, the JSON of its
last-applied annotation, a patch, the two sides of a diff):

- an env var whose name looks secret (``DB_PASSWORD``, ``API_TOKEN``) has its literal ``value`` hidden;
- a string under a key that looks secret (``password: ...`` in a mapping) is hidden, except where the key
  names a reference rather than holds a value (``key`` and ``...Name`` / ``...Ref``, as in ``secretKeyRef``) and in
  label maps, which select and never hold credentials;
- the userinfo of any URL (``postgres://app:PASSWORD@db/app``) is hidden, wherever the URL is;
- a Secret's ``data`` and ``stringData`` values are hidden, all of them, and its key names kept (a manifest's
  Secret, a Secret inside a last-applied annotation).

A diff hides values too, but must still show that a hidden value changed: there each hidden value carries a short
keyed digest (``•••••• #1a2b3c4d``), equal for equal values and meaningless without the server's SECRET_KEY.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.crypto import salted_hmac

SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|(^|_)key$", re.I)
REFERENCE_KEY = re.compile(r"^key$|(Name|Ref|Refs)$")
LABEL_MAPS = ("labels", "matchLabels", "nodeSelector")
HIDDEN = "••••••"
SECRET_VALUES = ("data", "stringData")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/?#@\s\"']+)@", re.I)


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name or ""))


def _hidden(value: str, digest: bool) -> str:
    if value.startswith(HIDDEN):  # hidden already (a diff of redacted objects): a digest of the mask says nothing
        return value
    if not digest:
        return HIDDEN
    return f"{HIDDEN} #{salted_hmac('podium.redaction', value).hexdigest()[:8]}"


def mask_text(text: str, *, digest: bool = False) -> str:
    """``text`` with the userinfo of every URL in it hidden."""
    if "://" not in text:
        return text
    return URL_USERINFO.sub(lambda m: m["scheme"] + _hidden(m["userinfo"], digest) + "@", text)


def redact(obj: Any, *, digest: bool = False) -> Any:
    """A copy of ``obj`` with every value the rules above hide hidden."""
    if isinstance(obj, dict):
        out = {}
        secret = obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"
        for key, value in obj.items():
            if secret and key in SECRET_VALUES:
                out[key] = _secret_values(value, digest)
            elif key == "env" and isinstance(value, list):
                out[key] = [_env_var(e, digest) for e in value]
            elif key == "annotations" and isinstance(value, dict):
                out[key] = redact_annotations(value, digest=digest)
            elif key in LABEL_MAPS and isinstance(value, dict):
                out[key] = value
            elif isinstance(value, str) and _holds_secret(str(key)) and value:
                out[key] = _hidden(value, digest)
            else:
                out[key] = redact(value, digest=digest)
        return out
    if isinstance(obj, list):
        return [redact(v, digest=digest) for v in obj]
    if isinstance(obj, str):
        return mask_text(obj, digest=digest)
    return obj


def _secret_values(values: Any, digest: bool) -> Any:
    if not isinstance(values, dict):
        return HIDDEN
    return {str(k): _hidden(v, digest) if isinstance(v, str) else HIDDEN for k, v in values.items()}


def has_secret_values(obj: Any) -> bool:
    """A Secret document that carries values (``data`` or ``stringData``)."""
    return isinstance(obj, dict) and obj.get("kind") == "Secret" and any(obj.get(key) for key in SECRET_VALUES)


def has_hidden_values(obj: Any) -> bool:
    """A Secret document whose values are the marker these rules write: a redacted page pasted back."""
    if not (isinstance(obj, dict) and obj.get("kind") == "Secret"):
        return False
    return any(
        isinstance(v, str) and v.startswith(HIDDEN)
        for key in SECRET_VALUES
        if isinstance(obj.get(key), dict)
        for v in obj[key].values()
    )


def _holds_secret(key: str) -> bool:
    return looks_secret(key) and not REFERENCE_KEY.search(key)


def _env_var(env: Any, digest: bool) -> Any:
    if not isinstance(env, dict):
        return redact(env, digest=digest)
    out = redact({k: v for k, v in env.items() if k != "value"}, digest=digest)
    if "value" in env:
        value = env["value"]
        if isinstance(value, str) and value and looks_secret(str(env.get("name", ""))):
            out["value"] = _hidden(value, digest)
        else:
            out["value"] = redact(value, digest=digest)
    return {k: out[k] for k in env}  # the order it was written in


def redact_annotations(annotations: dict, *, digest: bool = False) -> dict:
    """Annotations with the rules applied to each value, and to the object inside last-applied."""
    out = {}
    for key, value in annotations.items():
        if key == LAST_APPLIED and isinstance(value, str):
            try:
                out[key] = json.dumps(redact(json.loads(value), digest=digest), sort_keys=True)
            except (ValueError, RecursionError):
                out[key] = HIDDEN
        elif isinstance(value, str) and _holds_secret(str(key)) and value:
            out[key] = _hidden(value, digest)
        else:
            out[key] = redact(value, digest=digest)
    return out


def redacted_for_yaml(raw: dict) -> dict:
    """The object as `kubectl get -o yaml` shows it, minus managedFields and secret-looking literal values."""
    obj = redact(raw)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj
