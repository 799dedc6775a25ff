"""CSV files that staff and subjects open in a spreadsheet, safe from formula injection.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by common spreadsheet programs, and some import settings strip leading spaces and line
breaks first; such a cell gets a leading apostrophe (OWASP, "CSV Injection"), which the
programs show as text. RFC 4180 quoting is the csv module's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from starlette.responses import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.lstrip(" \n\r\t").startswith(_FORMULA_START) else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def csv_download(text: str, filename: str) -> Response:
    """`text` as a CSV attachment, never cached (it holds personal data)."""
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
