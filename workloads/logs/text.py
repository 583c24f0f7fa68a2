"""Log lines as Podium shows them: the kubelet's timestamp split off, ANSI colour kept as classes, the rest of the
escape sequences and control characters dropped. Nothing here produces markup: templates and the page's script
put each segment's text in as text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), and lone escapes.
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")
COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


@dataclass
class Line:
    """One line of one container: ``at`` is the kubelet's time (unix seconds, 0 when unknown)."""

    text: str
    at: float = 0.0
    stamp: str = ""
    pod: str = ""
    container: str = ""
    segments: list[tuple[str, str]] = field(default_factory=list)  # (css classes, text)
    colour: int = 0
    parts: list[tuple[str, str, bool]] = field(default_factory=list)  # segments cut at search matches

    def as_frame(self) -> dict:
        return {"t": self.stamp, "p": self.pod, "c": self.container, "s": self.segments}


def parse_stamp(value: str) -> float:
    try:
        whole, _, fraction = value.rstrip("Z").partition(".")
        base = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
        return base + (float(f"0.{fraction}") if fraction else 0.0)
    except ValueError:
        return 0.0


def segments(text: str) -> list[tuple[str, str]]:
    """The visible text in runs of one style; unknown sequences and control characters are dropped."""
    out: list[tuple[str, str]] = []
    style: dict[str, str] = {}
    position = 0

    def emit(chunk: str) -> None:
        chunk = _CONTROL.sub("", _ESCAPES.sub("", chunk)).replace("\t", "    ")
        if chunk:
            out.append((" ".join(f"ansi-{v}" for v in style.values()), chunk))

    for match in _SGR.finditer(text):
        emit(text[position : match.start()])
        position = match.end()
        codes = [int(c) for c in match.group(1).split(";") if c.isdigit()] or [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                style.clear()
            elif code == 1:
                style["weight"] = "bold"
            elif code in (22,):
                style.pop("weight", None)
            elif 30 <= code <= 37:
                style["fg"] = COLOURS[code - 30]
            elif 90 <= code <= 97:
                style["fg"] = "bright-" + COLOURS[code - 90]
            elif code == 39:
                style.pop("fg", None)
            elif code in (38, 48):
                i += 2 if codes[i + 1 : i + 2] == [5] else 4  # 256-colour and true colour: not shown
            i += 1
    emit(text[position:])
    return out


def parse_line(raw: str, *, pod: str = "", container: str = "") -> Line:
    """A line as the API server sends it with ``timestamps=true``."""
    stamp, text = "", raw
    match = _STAMP.match(raw)
    if match:
        stamp, text = match.group(1), raw[match.end() :]
    line = Line(text=text, at=parse_stamp(stamp) if stamp else 0.0, stamp=stamp, pod=pod, container=container)
    line.segments = segments(text)
    line.text = "".join(chunk for _, chunk in line.segments)
    return line


def parse_text(body: str, *, pod: str = "", container: str = "") -> list[Line]:
    return [parse_line(raw, pod=pod, container=container) for raw in body.splitlines()]


def pod_colour(pod: str) -> int:
    """A stable colour (one of 12) per Pod name, so a Pod keeps its colour across reloads and viewers."""
    value = 0
    for ch in pod.encode():
        value = (value * 31 + ch) % 1_000_003
    return value % 12


def highlight(lines: list[Line], query: str) -> int:
    """Cut every line's segments at the matches of ``query`` (case-insensitive); the number of matching lines."""
    needle = query.lower()
    hits = 0
    for line in lines:
        if not needle or needle not in line.text.lower():
            line.parts = [(cls, text, False) for cls, text in line.segments]
            continue
        hits += 1
        parts: list[tuple[str, str, bool]] = []
        for cls, text in line.segments:
            lower, start = text.lower(), 0
            while True:
                found = lower.find(needle, start)
                if found < 0:
                    break
                if found > start:
                    parts.append((cls, text[start:found], False))
                parts.append((cls, text[found : found + len(needle)], True))
                start = found + len(needle)
            if start < len(text):
                parts.append((cls, text[start:], False))
        line.parts = parts
    return hits
