"""axe-core in the browser tests: inject the npm package into a page, return its violations.

`scripts/venv.sh test` installs axe-core into tests/axe/node_modules (pinned by
tests/axe/package-lock.json). Without it the test fails in CI (CI=true) and skips elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one h1, focusable scroll regions).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The axe-core violations on `page` as it is now: rule id, impact and the nodes' targets."""
    if not AXE.exists():
        message = f"axe-core not found at {AXE}; run scripts/venv.sh test"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Through the DevTools protocol, which the pages' Content-Security-Policy does not govern
    # (a <script> tag would be refused, as it should be).
    page.evaluate(AXE.read_text() + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        TAGS,
    )
    return found


def describe_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{where}: {len(violations)} axe violation(s)"]
    lines += [f"  {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations]
    return "\n".join(lines)
