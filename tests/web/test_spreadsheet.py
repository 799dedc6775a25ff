"""CSV cells a spreadsheet would run as a formula are shown as text (OWASP CSV injection)."""

from schutz.web.spreadsheet import csv_text, safe_cell


def test_a_formula_is_neutralised_even_behind_spaces_or_a_line_break() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", " =1+1", "\n=HYPERLINK(x)", "\t=1", " \r+1"):
        assert safe_cell(cell).startswith("'"), cell


def test_plain_text_stays_as_it_is() -> None:
    assert safe_cell("Grace Hopper") == "Grace Hopper"
    assert safe_cell("a=b") == "a=b"
    assert csv_text(["name"], [["=cmd"]]) == "name\r\n'=cmd\r\n"
