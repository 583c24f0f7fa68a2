"""The zh-Hans catalog is complete: every string Podium marks is in it, translated, and no template text is unmarked.

When one fails: `make messages` adds what is new to locale/zh_Hans/LC_MESSAGES/django.po and lists what needs a
translation; fill in each msgstr, delete the '#, fuzzy' lines of those you checked, and run the tests again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from tests.support.i18n import CATALOG, KUBERNETES_WORDS, catalog
from tests.support.stack import ROOT

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
# Template text that is not translated on purpose: Kubernetes' words, and a selector's syntax in a placeholder.
UNTRANSLATED_TEMPLATE_TEXT = {"Podium", "· Podium", "Pod", "· Pod", "· QoS", "· YAML", "envFrom", "env", "gen"}
UNTRANSLATED_TEMPLATE_TEXT |= {"maxSurge", "maxUnavailable", "maxSurge , maxUnavailable", "partition"}
UNTRANSLATED_TEMPLATE_TEXT |= {"app=web,tier!=db", "Enter", "Esc"}  # and key names


def test_it_translates_every_entry() -> None:
    entries = catalog()
    assert len(entries) > 600
    missing = [e.msgid for e in entries if e.fuzzy or not all(e.msgstrs)]
    assert not missing, f"{len(missing)} entries without a checked translation: {missing[:20]}"
    for e in entries:
        for msgstr in e.msgstrs:
            # Every placeholder of the English is in the Chinese (msgfmt --check-format checks the python-format ones).
            assert set(_PLACEHOLDER.findall(e.msgid)) <= set(_PLACEHOLDER.findall(msgstr)) | set(
                _PLACEHOLDER.findall(e.plural)
            ), (e.msgid, msgstr)


def test_it_keeps_only_kubernetes_words_untranslated() -> None:
    kept = [e.msgid for e in catalog() if e.kept]
    assert kept, "some words are Kubernetes' own"
    for msgid in kept:
        assert set(re.findall(r"[A-Za-z][A-Za-z-]*", msgid)) <= KUBERNETES_WORDS, f"{msgid!r} is not translated"


def test_it_has_every_marked_string_in_the_catalog(tmp_path: Path) -> None:
    """makemessages over a copy of the source finds nothing the catalog lacks."""
    for name in ("manage.py", "dashboard", "workloads", "templates", "locale"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "PODIUM_DEV": "true", "PODIUM_ENV_FILES": "off", "PODIUM_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--no-obsolete", "--add-location", "file"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    fresh = (tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text()
    ours = {(e.context, e.msgid) for e in catalog()}
    theirs = _msgids(fresh)
    assert theirs - ours == set(), "marked but not in the catalog (run `make messages`)"
    assert ours - theirs == set(), "in the catalog but no longer marked (run `make messages`)"


def _msgids(po: str) -> set[tuple[str, str]]:
    import json

    found = set()
    for block in po.split("\n\n"):
        context, msgid, current = "", None, None
        parts: dict[str, list[str]] = {}
        for line in block.splitlines():
            m = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr\S*) (\".*\")$", line)
            if m:
                current = m[1]
                parts[current] = [m[2]]
            elif line.startswith('"') and current:
                parts[current].append(line)
        if "msgid" in parts:
            msgid = "".join(json.loads(p) for p in parts["msgid"])
            context = "".join(json.loads(p) for p in parts.get("msgctxt", []))
            if msgid:
                found.add((context, msgid))
    return found


class _TemplateText(HTMLParser):
    """Text and read attributes of a template with its translated parts and template syntax taken out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if value and name in ("title", "placeholder", "aria-label", "alt") and re.search("[A-Za-z]{2,}", value):
                self.found.append((self.getpos()[0], value.strip()))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and re.search("[A-Za-z]{2,}", data):
            self.found.append((self.getpos()[0], " ".join(data.split())))


_TEMPLATE_SYNTAX = re.compile(
    r"\{%\s*blocktrans(?:late)?\b.*?%\}.*?\{%\s*endblocktrans(?:late)?\s*%\}"
    r"|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}",
    re.S,
)


def test_it_marks_every_text_of_every_template() -> None:
    unmarked = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        parser = _TemplateText()
        parser.feed(_TEMPLATE_SYNTAX.sub(" ", path.read_text()))
        unmarked += [
            f"{path.relative_to(ROOT)}:{line}: {text!r}"
            for line, text in parser.found
            if text not in UNTRANSLATED_TEMPLATE_TEXT
        ]
    assert not unmarked, "template text outside {% translate %}:\n" + "\n".join(unmarked)


def test_it_compiles_the_catalog_for_the_run_and_test_commands() -> None:
    compiled = CATALOG.with_suffix(".mo")
    assert compiled.exists(), "scripts/messages.sh compile (run by make run and the test command) builds it"
    assert compiled.stat().st_mtime >= CATALOG.stat().st_mtime, "the .mo is older than the .po: compile it again"
    tracked = subprocess.run(["git", "ls-files", "locale"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert tracked == ["locale/zh_Hans/LC_MESSAGES/django.po"], "the .mo files are built, never committed"
