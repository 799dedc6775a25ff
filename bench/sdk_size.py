"""Benchmark: the size of the embeddable script /sdk/schutz.js, raw and gzipped.

Usage: python bench/sdk_size.py [RESULTS.md]

Issue 14 promises under 8 kB gzipped. Printed beside the sizes the peers' users compare it
with (Klaro about 69 kB, vanilla-cookieconsent about 10 kB plus 5 kB of CSS, gzipped, as
their own documentation states); those are quoted, not measured here. With RESULTS.md, the
`## Embeddable script size` section there is replaced (or appended).
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "src/schutz/web/static/sdk/schutz.js"
SECTION = "## Embeddable script size"
BUDGET = 8 * 1024


def sizes(path: Path = SCRIPT) -> tuple[int, int]:
    """(raw bytes, gzip -9 bytes) of the script as served."""
    raw = path.read_bytes()
    return len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))


def section() -> str:
    raw, packed = sizes()
    verdict = "within" if packed < BUDGET else "OVER"
    return "\n".join(
        [
            SECTION,
            "",
            "| script | raw | gzipped |",
            "|---|---:|---:|",
            f"| Schutz `/sdk/schutz.js` | {raw:,} B | {packed:,} B |",
            "| Klaro (quoted) | | about 69 kB |",
            "| vanilla-cookieconsent (quoted, JS + CSS) | | about 10 kB + 5 kB |",
            "",
            f"Budget: under {BUDGET:,} B gzipped; {verdict} budget "
            f"({packed / BUDGET:.0%} of it). No dependencies, CSS included.",
            "",
        ]
    )


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's section of `path`, or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = (
        pattern.sub(lambda _m: text + "\n", old)
        if pattern.search(old)
        else f"{old.rstrip()}\n\n{text}\n"
    )
    path.write_text(new, encoding="utf-8")


def main() -> None:
    text = section()
    print(text)
    if len(sys.argv) > 1:
        write_section(Path(sys.argv[1]), text)


if __name__ == "__main__":
    main()
