"""The smallest set of out-of-band swaps that turns what a page shows into a new render of its partials.

A live partial is sent whole the first time. After that, a new render is compared with the one the page has: an
element with an ``id`` whose own HTML (its subtree with every inner element that has an ``id`` cut out) is the same
in both keeps its place, and only the inner elements that changed are sent, each as its own out-of-band swap. So a
Pod whose status changed is one ``<tr id="pod-…">`` in the frame, not the 1,000-row table around it; a row added,
removed or moved, or a changed heading without an ``id`` of its own, changes the shape around it and sends the
nearest element with an ``id`` that holds it.

This reads HTML that Podium's own templates wrote: every value from the cluster is escaped there, so every ``<``
is a tag. A fragment that this cannot read with confidence (a tag left open, an ``id`` twice) is sent whole.
Inside ``<svg>`` nothing is swapped alone: htmx parses a frame as HTML, where an SVG element on its own would lose
its namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A tag (its attributes may quote a ">") or a comment. The attributes' pattern is unrolled: a run of plain characters,
# then quoted values each followed by such a run; the same language as ``(?:[^>"']|"[^"]*"|'[^']*')*``, 2x faster.
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)([^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*)>|<!--.*?-->", re.S)
_ID = re.compile(r"""(?:^|\s)id=(?:"([^"]*)"|'([^']*)')""")
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)  # no end tag
_OPAQUE = frozenset({"svg", "script", "style", "textarea", "template"})  # never split
# An age the page counts by itself (static/podium/ages.js): only time passed, so nothing to send.
_AGE = re.compile(r"(<time datetime=\"[^\"]*\" data-age>)[^<]*(</time>)")


class Unreadable(ValueError):
    """A fragment whose elements this module cannot tell apart with confidence."""


@dataclass
class Element:
    id: str
    start: int  # offset of its start tag
    end: int  # offset just after its end tag
    tag_end: int  # offset just after its start tag
    children: list[Element] = field(default_factory=list)  # inner elements with an id, outermost only


_PARSED: dict[str, Element] = {}  # the last few fragments parsed: the new render of one frame is the old of the next
_PARSED_KEPT = 64


def parse(html: str) -> Element:
    """The root element (the fragment's first tag, which has an id) and, nested, every inner element with one."""
    found = _PARSED.get(html)
    if found is None:
        found = _parse(html)
        if len(_PARSED) >= _PARSED_KEPT:
            del _PARSED[next(iter(_PARSED))]
        _PARSED[html] = found
    return found


def _parse(html: str) -> Element:
    stack: list[tuple[str, Element | None]] = []  # (tag name, the element if it has an id)
    root: Element | None = None
    ids: set[str] = set()
    opaque_depth = 0
    pos = 0
    for m in _TAG.finditer(html):
        if m.group(0).startswith("<!--"):
            continue
        closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3) or ""
        if opaque_depth and not (closing and name == stack[-1][0]):
            if not closing and name == stack[-1][0] and name in _OPAQUE:
                raise Unreadable(f"<{name}> inside <{name}>")
            continue
        if closing:
            if not stack or stack[-1][0] != name:
                raise Unreadable(f"</{name}> closes <{stack[-1][0] if stack else 'nothing'}>")
            _, element = stack.pop()
            if name in _OPAQUE:
                opaque_depth = 0
            if element is not None:
                element.end = m.end()
            pos = m.end()
            if not stack:
                break
            continue
        if root is not None and not stack:
            raise Unreadable("more than one root element")
        if name in _VOID or attrs.rstrip().endswith("/"):
            continue
        found = _ID.search(attrs)
        element = None
        if found:
            element_id = found.group(1) if found.group(1) is not None else found.group(2)
            if element_id in ids:
                raise Unreadable(f"id {element_id!r} twice")
            ids.add(element_id)
            element = Element(element_id, m.start(), -1, m.end())
            parent = next((e for _, e in reversed(stack) if e is not None), None)
            if parent is not None:
                parent.children.append(element)
        if root is None:
            if element is None or html[: m.start()].strip():
                raise Unreadable("the fragment does not start with an element with an id")
            root = element
        stack.append((name, element))
        if name in _OPAQUE:
            opaque_depth = 1
    if root is None or stack or root.end < 0:
        raise Unreadable("an element is left open")
    if html[pos:].strip():
        raise Unreadable("text after the root element")
    return root


def _same(a: str, b: str) -> bool:
    return a == b or _AGE.sub(r"\1\2", a) == _AGE.sub(r"\1\2", b)


def _shape(html: str, element: Element) -> tuple[str, list[str]]:
    """The element's HTML with each inner element with an id cut out (kept as a marker), and those ids in order."""
    parts: list[str] = []
    at = element.start
    for child in element.children:
        parts.append(html[at : child.start])
        parts.append(f"\x00{child.id}\x00")
        at = child.end
    parts.append(html[at : element.end])
    return _AGE.sub(r"\1\2", "".join(parts)), [c.id for c in element.children]


def changed_elements(old: str, new: str) -> list[str] | None:
    """The HTML of each element of ``new`` (by id) that differs from ``old``, outermost only; ``None``: send whole.

    Each returned piece is the element's HTML exactly as ``new`` has it (add the out-of-band marker yourself).
    """
    if old == new:
        return []
    try:
        old_root, new_root = parse(old), parse(new)
    except Unreadable:
        return None
    if old_root.id != new_root.id:
        return None
    out: list[str] = []
    if not _differences(old, old_root, new, new_root, out):
        return None
    return out


def _differences(old: str, a: Element, new: str, b: Element, out: list[str]) -> bool:
    """Append what changed inside ``b``; False when ``b``'s own shape changed (then ``b`` goes whole)."""
    before, after = old[a.start : a.end], new[b.start : b.end]
    if before == after or (not b.children and _same(before, after)):
        return True  # (an element with inner ones is compared below, piece by piece, ages left out)
    if _shape(old, a) != _shape(new, b):
        return False
    for x, y in zip(a.children, b.children, strict=True):
        if not _differences(old, x, new, y, out):
            out.append(new[y.start : y.end])
    return True


# Elements that HTML parses only inside a table. htmx parses each WebSocket message in a <template>, whose content
# takes the mode of its first element: a <tr> after a <section> would be dropped. So such pieces go in messages of
# their own, one per tag.
TABLE_PARTS = frozenset({"tr", "td", "th", "tbody", "thead", "tfoot", "caption", "colgroup", "col"})
_ROOT_TAG = re.compile(r"\s*<([a-zA-Z][\w-]*)")


def messages_for(pieces: list[str]) -> list[str]:
    """The WebSocket messages that carry these out-of-band pieces: everything else first, in one message, then one
    message for each kind of table part (``<tr>`` rows), so that every piece parses where htmx looks for it."""
    general: list[str] = []
    table: dict[str, list[str]] = {}
    for piece in pieces:
        m = _ROOT_TAG.match(piece)
        tag = m[1].lower() if m else ""
        if tag in TABLE_PARTS:
            table.setdefault(tag, []).append(piece)
        else:
            general.append(piece)
    return ["\n".join(group) for group in (general, *table.values()) if group]
