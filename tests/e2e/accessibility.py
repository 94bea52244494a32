"""An accessibility check for pages in the browser tests: axe-core, fetched from npm by version.

`npm pack` takes the pinned release from the registry (it checks the tarball's integrity), once a
test session; the page under test gets `axe.min.js` injected and runs the WCAG 2.1 A/AA rules at
a phone's and a desktop's width. Pages are checked as copies, in a page of their own with
JavaScript on, so the journey itself runs with JavaScript off.
"""

from __future__ import annotations

import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

AXE_CORE = "4.10.3"
WIDTHS = (390, 1280)
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def fetch_axe(into: Path) -> str:
    """axe.min.js of the pinned axe-core release, fetched with npm into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "pack", f"axe-core@{AXE_CORE}", "--pack-destination", str(into), "--silent"],
        check=True,
        timeout=300,
        capture_output=True,
    )
    with tarfile.open(into / f"axe-core-{AXE_CORE}.tgz") as packed:
        member = packed.extractfile("package/axe.min.js")
        assert member is not None, "axe-core's package has no axe.min.js"
        return member.read().decode()


@dataclass(frozen=True)
class Finding:
    """One rule a page breaks, at one width: how bad, what, and where."""

    width: int
    impact: str
    rule: str
    help: str
    targets: tuple[str, ...]


@dataclass
class Auditor:
    """Runs axe on copies of pages; remembers every finding and saves a screenshot per width."""

    browser: Browser
    axe_source: str
    shots: Path
    findings: list[Finding]

    async def check(self, page: Page, name: str) -> list[Finding]:
        """Check what `page` shows now at each width; the findings (all impacts)."""
        html = await page.content()
        copy = await self.browser.new_page(java_script_enabled=True, bypass_csp=True)
        found: list[Finding] = []
        try:
            for width in WIDTHS:
                await copy.set_viewport_size({"width": width, "height": 900})
                await copy.set_content(html)
                overflow = await copy.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
                await copy.screenshot(path=self.shots / f"{name}-{width}.png", full_page=True)
                await copy.add_script_tag(content=self.axe_source)
                result: dict[str, Any] = await copy.evaluate(
                    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                    " resultTypes: ['violations']})",
                    WCAG_21_AA,
                )
                found += [
                    Finding(
                        width,
                        v["impact"] or "",
                        v["id"],
                        v["help"],
                        tuple(str(n["target"]) for n in v["nodes"]),
                    )
                    for v in result["violations"]
                ]
        finally:
            await copy.close()
        self.findings += found
        return found


def blocking(findings: list[Finding]) -> list[Finding]:
    """The serious and critical findings: those no page may have."""
    return [f for f in findings if f.impact in BLOCKING]
