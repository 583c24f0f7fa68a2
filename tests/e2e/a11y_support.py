"""axe-core (npm, pinned in package-lock.json, installed into node_modules/ by scripts/bootstrap.sh dev) run in
Chromium on a page as it is served, under its own Content-Security-Policy: the script is handed to the page through
the DevTools protocol (page.evaluate), which the policy does not govern, so nothing about the page is relaxed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def _axe_source() -> str:
    assert AXE.exists(), f"{AXE} is missing: run `bash scripts/bootstrap.sh dev` (npm ci), or `make test`"
    return AXE.read_text()


def serious_violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the page as it is now: rule, impact, and where."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "async (tags) => await window.axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        TAGS,
    )
    found = []
    for violation in result["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"][:5]:
            found.append(
                f"{violation['id']} ({violation['impact']}): {node['target']} {node.get('failureSummary', '')}"
            )
    return found
