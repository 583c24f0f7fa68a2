"""CronJob schedules: what kube-apiserver accepts in ``spec.schedule`` and ``spec.timeZone``, and when the CronJob
controller runs them. cronsim evaluates the five fields; this module only adds where Kubernetes (robfig/cron's
``ParseStandard``) differs from it: exactly five fields, the descriptors and ``@every <duration>``, ``?`` for ``*``,
no ``L``/``W``/``#``, Sunday only as 0, and no ``TZ=``/``CRON_TZ=`` (the ``timeZone`` field says it instead).

Refusals are worded as kube-apiserver words them (tests/differential/test_cron_answers.py compares them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
EVERY = "@every "
TZ_IN_SCHEDULE = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
# The names Go's cron knows (case-insensitive), per field; every other token must be a number, * or ?.
NAMES = (
    (),
    (),
    (),
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
)
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class CronError(ValueError):
    pass


def schedule_errors(schedule: str) -> list[str]:
    """Why kube-apiserver refuses this ``spec.schedule`` (messages in its order), or nothing."""
    found = []
    try:
        Schedule(schedule)
    except CronError as exc:
        found.append(str(exc))
    if "TZ" in schedule:
        found.append(TZ_IN_SCHEDULE)
    return found


def time_zone_errors(time_zone: str | None) -> list[str]:
    """Why kube-apiserver refuses this ``spec.timeZone`` (none when it takes it)."""
    if time_zone is None:
        return []
    if time_zone == "":
        return ["timeZone must be nil or non-empty string"]
    found = []
    if time_zone.lower() == "local":
        found.append("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
    if time_zone != "Local" and _zone(time_zone) is None:  # Go's time.LoadLocation takes "Local" (and only it)
        found.append(f"unknown time zone {time_zone}")
    return found


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found (ZoneInfoNotFoundError is a KeyError), or not a key
        return None


def _go_duration(text: str) -> timedelta:
    """Go's time.ParseDuration, as `@every` reads it; robfig/cron rounds down to whole seconds, at least one."""
    if not _GO_DURATION.fullmatch(text):
        raise CronError(f"failed to parse duration {EVERY}{text}: time: invalid duration {_quote(text)}")
    sign = -1 if text.startswith("-") else 1
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    return timedelta(seconds=max(1, int(sign * seconds)))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(index: int, token: str) -> int:
    if token.lower() in NAMES[index]:
        return NAMES[index].index(token.lower()) + (1 if index == 3 else 0)
    if not token.isdigit():
        raise CronError(f"failed to parse int from {token}: strconv.Atoi: parsing {_quote(token)}: invalid syntax")
    return int(token)


def _field_for_cronsim(index: int, text: str) -> str:
    """One field as cronsim reads it, refused in Go's cron's words where Go's cron refuses it."""
    low, high = RANGES[index]
    items = [item for item in text.split(",") if item]  # Go's cron skips empty list items ("0," is "0")
    for item in items:
        span, slash, step_text = item.partition("/")
        if span in ("*", "?"):
            start, end = low, high
        else:
            first, dash, last = span.partition("-")
            start = _number(index, first)
            end = _number(index, last) if dash else start
        step = _number(index, step_text) if slash else 1
        if start < low:
            raise CronError(f"beginning of range ({start}) below minimum ({low}): {item}")
        if end > high:
            raise CronError(f"end of range ({end}) above maximum ({high}): {item}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {item}")
        if step == 0:
            raise CronError(f"step of range should be a positive number: {item}")
    if index not in (2, 4):
        return ",".join(item.replace("?", "*") for item in items) or text
    # A day field is "any day" to Go's cron when one of its items is * or ? without a step; then the two day fields
    # must both match, else either may. cronsim decides by the field's first character, so say it that way.
    if any(item.partition("/")[0] in ("*", "?") and item.partition("/")[2] in ("", "1") for item in items):
        return "*"
    return ",".join(f"{low}-{high}/{item.partition('/')[2]}" if item[0] in "*?" else item for item in items) or text


class Schedule:
    """A schedule as the CronJob controller runs it, in ``spec.timeZone`` (UTC when none)."""

    def __init__(self, text: str, time_zone: str | None = None) -> None:
        spec = text.strip()
        self.zone = _zone(time_zone) if time_zone else UTC
        if self.zone is None:
            raise CronError(f"unknown time zone {time_zone}")
        for prefix in ("TZ=", "CRON_TZ="):
            if spec.startswith(prefix):
                name, _, spec = spec[len(prefix) :].partition(" ")
                self.zone = _zone(name)
                if self.zone is None:
                    raise CronError(f"provided bad location {name}: unknown time zone {name}")
                spec = spec.strip()
        self.every: timedelta | None = None
        self.expression = ""
        if spec.startswith("@"):
            if spec.startswith(EVERY):
                self.every = _go_duration(spec[len(EVERY) :])
                return
            if spec not in DESCRIPTORS:
                raise CronError(f"unrecognized descriptor: {spec}")
            spec = DESCRIPTORS[spec]
        fields = spec.split()
        if len(fields) != 5:
            raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
        self.expression = " ".join(_field_for_cronsim(i, f) for i, f in enumerate(fields))
        self.never = False
        try:
            CronSim(self.expression, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            # A day no month has ("0 0 31 2 *"): Go's cron takes it, and it never comes.
            try:
                CronSim(_any_month(self.expression), datetime(2000, 1, 1, tzinfo=UTC))
            except CronSimError:
                raise CronError(f"{exc}: {text}") from None
            self.never = True

    def next_after(self, t: datetime) -> datetime | None:
        """The first scheduled time strictly after ``t`` (None when it never comes)."""
        if self.every is not None:
            return t.replace(microsecond=0) + self.every
        if self.never:
            return None
        local = t.astimezone(self.zone).replace(microsecond=0)
        return next(CronSim(self.expression, local)).astimezone(UTC)

    def last_before(self, start: datetime, now: datetime) -> tuple[datetime | None, int]:
        """The most recent scheduled time in (start, now], and how many were missed (capped at 100)."""
        last, missed = None, 0
        t = self.next_after(start)
        while t is not None and t <= now:
            last, missed = t, missed + 1
            if missed > 100:
                break
            t = self.next_after(t)
        return last, missed


def _any_month(expression: str) -> str:
    parts = expression.split()
    parts[3] = "*"
    return " ".join(parts)
