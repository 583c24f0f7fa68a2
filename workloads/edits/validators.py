"""Kubernetes' own validation rules, applied before anything leaves Podium."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

from cronsim import CronSim, CronSimError
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from workloads import kube

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*\Z")
IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")
INT_OR_PERCENT = re.compile(r"^\d+%?$", re.ASCII)

# The image reference grammar of the distribution project (what `docker pull` and the kubelet accept):
# an optional registry host, lowercase path components, an optional tag and an optional digest.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
# re.ASCII: \w would match any script's letters too, and the kubelet takes ASCII references only.
IMAGE_REFERENCE = re.compile(
    rf"{_NAME}(?::[\w][\w.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}})?",
    re.ASCII,
)

# Kubernetes has no per-value limit, but the whole object must fit in etcd (1.5 MiB) and every Pod of the
# workload carries it; a value this large is almost always a mistake (a file pasted into the wrong box).
MAX_ENV_VALUE_BYTES = 32 * 1024
INT32_MAX = 2**31 - 1  # replicas, seconds and counts are int32 in the API
# A CronJob's schedule as kube-apiserver takes it (robfig/cron's ParseStandard): five fields or a descriptor. cronsim
# checks each field's ranges and steps; what Kubernetes refuses and cronsim takes (L, W, #, Sunday as 7, six fields)
# and takes where cronsim does not (?, an empty list item, a day no month has) is settled around it.
CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
CRON_NAMES = (
    (),
    (),
    (),
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
)
GO_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0")


def dns1123_label(value: str) -> None:
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise ValidationError(
            _("%(v)s is not a valid name: at most 63 lowercase letters, digits and '-', alphanumeric at both ends.")
            % {"v": value}
        )


def dns1123_subdomain(value: str) -> None:
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise ValidationError(
            _("%(v)s is not a valid name: lowercase letters, digits, '-' and '.', at most 253 characters.")
            % {"v": value}
        )


def env_var_name(value: str) -> None:
    if not ENV_VAR_NAME.match(value):
        raise ValidationError(
            _("%(v)s is not a valid variable name: letters, digits, '_', '-', '.', not a leading digit.") % {"v": value}
        )


def env_value(value: str) -> None:
    size = len(value.encode())
    if size > MAX_ENV_VALUE_BYTES:
        raise ValidationError(
            _("This value is %(size)d bytes; at most %(max)d are allowed (use a ConfigMap for files).")
            % {"size": size, "max": MAX_ENV_VALUE_BYTES}
        )


def image_reference(value: str) -> None:
    if not IMAGE_REFERENCE.fullmatch(value):
        raise ValidationError(
            _("%(v)s is not a valid image reference (e.g. nginx:1.27): lowercase repository, no spaces.") % {"v": value}
        )


def port_number(value: int) -> None:
    if not 1 <= value <= 65535:
        raise ValidationError(_("A port must be between 1 and 65535, not %(v)s.") % {"v": value})


def port_name(value: str) -> None:
    if len(value) > 15 or not IANA_SVC_NAME.match(value):
        raise ValidationError(
            _("%(v)s is not a valid port name: at most 15 lowercase letters, digits and '-', with at least one letter.")
            % {"v": value}
        )


def quantity(value: str) -> Decimal:
    try:
        parsed = kube.parse_quantity(value)
    except ValueError:
        raise ValidationError(_("%(v)s is not a quantity: e.g. 250m, 1, 128Mi, 2Gi.") % {"v": value}) from None
    if parsed < 0:
        raise ValidationError(_("A quantity cannot be negative."))
    return parsed


def label_key(value: str) -> None:
    prefix, _slash, name = value.rpartition("/")
    if (
        (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)))
        or len(name) > 63
        or not LABEL_NAME.match(name)
    ):
        raise ValidationError(
            _("%(v)s is not a valid key: [prefix/]name, at most 63 letters, digits, '-', '_', '.'.") % {"v": value}
        )


def label_value(value: str) -> None:
    if len(value) > 63 or not LABEL_VALUE.match(value):
        raise ValidationError(
            _("%(v)s is not a valid label value: at most 63 letters, digits, '-', '_' and '.'.") % {"v": value}
        )


def int_or_percent(value: str) -> None:
    if not INT_OR_PERCENT.match(value):
        raise ValidationError(_("%(v)s is neither a number nor a percentage (e.g. 1 or 25%%).") % {"v": value})


def cron_schedule(value: str) -> None:
    value = value.strip()
    if "TZ" in value:
        raise ValidationError(
            _("Kubernetes refuses TZ= and CRON_TZ= in a schedule: set the CronJob's time zone (spec.timeZone) instead.")
        )
    if value.startswith("@every ") and GO_DURATION.fullmatch(value.removeprefix("@every ")):
        return
    if value.startswith("@"):
        if value in CRON_DESCRIPTORS:
            return
        raise ValidationError(
            _(
                "%(v)s is not a cron schedule: the shortcuts are @yearly, @annually, @monthly, @weekly, @daily, "
                "@midnight, @hourly, and @every followed by a duration such as 1h30m."
            )
            % {"v": value}
        )
    fields = value.split()
    if len(fields) != 5:
        raise ValidationError(_("%(v)s is not a cron schedule: five fields, e.g. */5 * * * *.") % {"v": value})
    for number, text in enumerate(fields, start=1):
        if not _cron_field_is_kubernetes(number - 1, text):
            raise ValidationError(
                _(
                    "%(v)s is not a cron schedule: field %(n)d (%(text)s) is not valid; the fields are minute 0-59, "
                    "hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT."
                )
                % {"v": value, "n": number, "text": text}
            )


def _cron_field_is_kubernetes(index: int, text: str) -> bool:
    """Only numbers, *, ? and (in the month and weekday fields) three-letter names, with Sunday as 0 only."""
    names = CRON_NAMES[index]
    for item in filter(None, text.split(",")):
        span, slash, step = item.partition("/")
        if slash and not step.isdigit():
            return False
        if span in ("*", "?"):
            continue
        for token in span.split("-"):
            if token.lower() in names:
                continue
            if not token.isdigit() or (index == 4 and int(token) > 6):
                return False
    # The ranges, steps and order, by cronsim, with every other field "*" (so that a day no month has, which
    # Kubernetes takes and never runs, is not refused for the month's sake).
    probe = ["*"] * 5
    probe[index] = ",".join(item.replace("?", "*") for item in text.split(",") if item)
    try:
        CronSim(" ".join(probe), datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError:
        return False
    return True


def hidden_characters(text: str) -> list[str]:
    """The characters of ``text`` that render as nothing or reorder what follows (bidi overrides such as U+202E,
    zero-width spaces and joiners, soft hyphens, control characters), as U+XXXX codes: a value holding one looks
    like another value, or like no change at all."""
    return sorted({f"U+{ord(ch):04X}" for ch in text if _hidden(ch)})


def _hidden(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category == "Cf" or (category == "Cc" and ch not in "\n\t") or category in ("Zl", "Zp")
