"""YAML that a person sends (the YAML tab, Apply manifest), parsed with its size and nesting bounded.

PyYAML shares an aliased node rather than copying it, so a few hundred bytes of nested aliases parse quickly into
an object that expands to billions of nodes the moment anything walks it (schema validation, the diff, a page).
Kubernetes' own decoder refuses such documents, and so does this one: every node is measured as it is composed,
counting what its aliases expand to, and a document is refused when aliases add more than ``MAX_ALIASED_NODES``
nodes to what is written, when an alias sits inside its own anchor, or when it nests deeper than ``MAX_DEPTH``
(expanded), which would otherwise end in a ``RecursionError`` in the composer or in whatever walks the result.

Values are what Kubernetes reads from YAML (JSON's types): a timestamp stays a string, and ``!!binary``,
``!!set``, ``!!omap`` and ``!!pairs`` are refused, since the page could not carry them and the server would not
take them.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_DEPTH = 64  # a Deployment with affinity rules nests about 14 deep
MAX_ALIASED_NODES = 10_000


class Refused(ComposerError):
    """A document too deep, or whose aliases expand too far."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nesting = 0
        self.aliased_nodes = 0
        self.open_anchors: list[str | None] = []
        # id(node) -> (expanded node count, expanded depth), for every node composed so far.
        self.measures: dict[int, tuple[int, int]] = {}

    def compose_document(self) -> Node | None:
        self.aliased_nodes, self.measures = 0, {}
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor in self.open_anchors:
                raise Refused(None, None, f"the alias *{event.anchor} is inside its own anchor", event.start_mark)
            node = super().compose_node(parent, index)
            self.aliased_nodes += self.measures[id(node)][0]
            if self.aliased_nodes > MAX_ALIASED_NODES:
                raise Refused(
                    None, None, f"its aliases expand to more than {MAX_ALIASED_NODES} nodes", event.start_mark
                )
            return node
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise Refused(None, None, f"it nests deeper than {MAX_DEPTH} levels", event.start_mark)
        self.open_anchors.append(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.nesting -= 1
            self.open_anchors.pop()
        self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = self.measures[id(child)]
            size, depth = size + child_size, max(depth, child_depth)
        if depth + 1 > MAX_DEPTH:
            raise Refused(None, None, f"its aliases nest deeper than {MAX_DEPTH} levels", node.start_mark)
        self.measures[id(node)] = (size, depth + 1)


def _not_json(loader: _BoundedLoader, node: Node) -> None:
    raise ConstructorError(None, None, f"Kubernetes YAML has no {node.tag.rsplit(':', 1)[-1]} values", node.start_mark)


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
for _tag in ("binary", "set", "omap", "pairs"):
    _BoundedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)


def load_all(text: str) -> list[Any]:
    """The documents of ``text`` (empty ones left out); raises ``yaml.YAMLError`` (``Refused`` among them)."""
    loader = _BoundedLoader(text)
    try:
        docs = []
        while loader.check_data():
            doc = loader.get_data()
            if doc is not None:
                docs.append(doc)
        return docs
    except ValueError as exc:  # Python reads no integer of more than 4,300 digits
        raise Refused(None, None, "a number in it has too many digits", None) from exc
    finally:
        loader.dispose()
