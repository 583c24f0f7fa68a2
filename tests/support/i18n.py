"""What a reader of a translated page would notice: English left in it.

The catalog (locale/zh_Hans/LC_MESSAGES/django.po) is the list of Podium's English strings. A page rendered in
zh-Hans is untranslated where one of its visible texts (text nodes, and the attributes a person reads or hears:
title, placeholder, aria-label, alt, a button's value) is still one of those strings, whole or formatted with its
placeholders filled in, or still holds a word of Podium's English vocabulary that the cluster did not write.
Cluster data (names, images, labels, event messages, Kubernetes' own reasons) is excluded by collecting every
string of the mirror's objects and leaving out the words they hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

# Words Podium keeps as Kubernetes writes them (kinds, fields, reasons, units), and its own name.
KUBERNETES_WORDS = {
    "Podium", "Pod", "Pods", "Deployment", "Deployments", "ReplicaSet", "ReplicaSets", "StatefulSet", "StatefulSets",
    "DaemonSet", "DaemonSets", "Job", "Jobs", "CronJob", "CronJobs", "ControllerRevision", "Namespace", "Node",
    "ConfigMap", "ConfigMaps", "Secret", "Secrets", "Service", "Services", "EndpointSlice", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "PersistentVolumeClaim", "PersistentVolumeClaims", "volumeClaimTemplates",
    "imagePullSecrets", "subPath", "RoleBinding", "Impersonate-User", "Impersonate-Group", "PODIUM_OIDC_ROLE_MAP",
    "YAML", "JSON", "CPU", "IP", "IPs", "DNS", "QoS", "CSRF", "API", "PVC", "UTF",
    "init", "envFrom", "env", "maxSurge", "maxUnavailable", "partition", "restartPolicy", "Always", "resourceVersion",
    "metadata", "name", "spec", "status", "managedFields", "kubectl", "rollout", "resume", "apiVersion", "kind",
    "uid", "schema", "Kubernetes", "democluster", "kubeconfig", "Redis", "ImagePullBackOff", "ErrImagePull",
    "CrashLoopBackOff", "ProgressDeadlineExceeded", "restartedAt", "txt", "Mi", "Gi", "ro", "exec", "cron",
    "admin", "viewer", "editor", "Access", "attempts", "Normal", "Warning", "True", "False", "Unknown",
    "Running", "Pending", "Succeeded", "Failed", "Completed", "Terminating", "ContainerCreating", "Error",
    "waiting", "running", "terminated", "Burstable", "BestEffort", "Guaranteed", "TCP", "UDP", "SCTP",
    "RollingUpdate", "Recreate", "OnDelete", "OrderedReady", "Parallel", "OnFailure", "Never", "IfNotPresent",
    "ClusterFirst", "change", "cause", "Init", "KUBECONFIG", "kube", "config", "Can", "read", "container", "logs",
    "surge", "change-cause", "Partition", "Tab", "Shift", "Enter", "Esc",
    # the syntax Podium's fields are written in: key=value, volume:/mount/path
    "key", "value", "volume", "mount", "path",
    # kubectl describe's probe line: http-get http://:80/ delay=0s timeout=1s period=10s #success=1 #failure=3
    "delay", "timeout", "period", "success", "failure", "http-get", "tcp-socket",
}  # fmt: skip
_PLACEHOLDER = re.compile(r"%\([^)]+\)[sd]|\{\w+\}|%%")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")
_SPACE = re.compile(r"\s+")
_KUBECTL = re.compile(r"kubectl(?: [\w./-]+)+")  # a command line, in kubectl's words
# Attributes a person reads or hears.
_READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "aria-description", "aria-roledescription"}
# Where a page shows the cluster's own text as it is: YAML, diffs, logs, and editable values.
_DATA_ELEMENTS = {"pre", "textarea", "script", "style", "code"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class Entry:
    context: str
    msgid: str
    plural: str
    msgstrs: tuple[str, ...]
    fuzzy: bool

    @property
    def kept(self) -> bool:
        """Translated as itself: one of Kubernetes' words, or Podium's name."""
        return all(s == self.msgid for s in self.msgstrs)


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines)


@cache
def catalog() -> tuple[Entry, ...]:
    """The entries of the zh-Hans catalog (the header left out)."""
    entries = []
    for block in CATALOG.read_text().split("\n\n"):
        fields: dict[str, list[str]] = {}
        current = None
        for line in block.splitlines():
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
            if m:
                current = m[1]
                fields[current] = [m[2]]
            elif line.startswith('"') and current:
                fields[current].append(line)
        if "msgid" not in fields or not _unquote(fields["msgid"]):
            continue
        entries.append(
            Entry(
                context=_unquote(fields.get("msgctxt", ['""'])),
                msgid=_unquote(fields["msgid"]),
                plural=_unquote(fields.get("msgid_plural", ['""'])),
                msgstrs=tuple(_unquote(v) for k, v in fields.items() if k.startswith("msgstr")),
                fuzzy="#, fuzzy" in block or ", fuzzy" in block,
            )
        )
    return tuple(entries)


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@cache
def _english() -> tuple[frozenset[str], tuple[tuple[re.Pattern, str], ...], frozenset[str]]:
    """Podium's English strings: whole ones, formatted ones (as patterns), and the words they use."""
    whole: set[str] = set()
    formatted: list[tuple[re.Pattern, str]] = []
    words: set[str] = set()
    for entry in catalog():
        if entry.kept:
            continue
        for english in filter(None, (entry.msgid, entry.plural)):
            text = _normal(english)
            literal = _PLACEHOLDER.sub(" ", text)
            words.update(w.lower() for w in _WORD.findall(literal))
            if _PLACEHOLDER.search(text):
                # Only a pattern with a sentence of its own: "%(n)s s" or "for %(age)s" match too much.
                if len(_WORD.findall(literal)) >= 2:
                    parts = [re.escape(p) for p in _PLACEHOLDER.split(text)]
                    formatted.append((re.compile("(?s)" + ".+?".join(parts)), english))
            else:
                whole.add(text)
    return frozenset(whole), tuple(formatted), frozenset(words)


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skip = 0
        self.log_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, value in attrs:
            if value and name in _READ_ATTRIBUTES:
                self.texts.append(value)
        if tag == "input" and a.get("type") in ("submit", "button", "reset") and a.get("value"):
            self.texts.append(a["value"] or "")
        if a.get("id") == "podium-strings":  # the words the page's scripts show
            self.texts.extend(v for k, v in attrs if k.startswith("data-") and v)
        if tag in _VOID:
            return
        if self.log_depth:
            self.log_depth += 1
        elif a.get("role") == "log":  # a container's own output
            self.log_depth = 1
        if tag in _DATA_ELEMENTS:
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self.log_depth:
            self.log_depth -= 1
        if tag in _DATA_ELEMENTS and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.log_depth and data.strip():
            self.texts.append(data)


def visible_texts(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return [_normal(t) for t in parser.texts if _normal(t)]


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings_in(v)


def words_of(strings: Iterable[str]) -> frozenset[str]:
    return frozenset(w.lower() for s in strings for w in _WORD.findall(s))


@dataclass(frozen=True)
class ClusterText:
    """What the cluster (or a person, through a form) wrote: its strings whole, and the words in them."""

    strings: frozenset[str]
    words: frozenset[str]

    @classmethod
    def of(cls, strings: Iterable[str]) -> ClusterText:
        strings = [s for s in strings if s]
        return cls(frozenset(_normal(s) for s in strings), words_of(strings))


def untranslated(html: str, cluster: ClusterText) -> list[str]:
    """The visible texts of a zh-Hans page that are still Podium's English, and why."""
    whole, formatted, vocabulary = _english()
    kept = {w.lower() for w in KUBERNETES_WORDS}
    found = []
    for text in visible_texts(html):
        if text in cluster.strings:  # "Completed" as a Pod's reason, not as Podium's word
            continue
        if text in whole:
            found.append(f"{text!r} is an English msgid")
            continue
        pattern = next((english for p, english in formatted if p.fullmatch(text)), None)
        if pattern:
            found.append(f"{text!r} is msgid {pattern!r}")
            continue
        english = [
            w
            for w in _WORD.findall(_KUBECTL.sub(" ", text))
            if w.lower() in vocabulary and w.lower() not in kept | cluster.words
        ]
        if english:
            found.append(f"{text!r} has English words {english}")
    return found
