"""Plain-text tables: numbers formatted per column, text left as it is."""

from __future__ import annotations

from territory.tables import format_number, text_table


def test_format_number_digits_and_missing_values():
    assert format_number(1234.56, 1) == "1,234.6"
    assert format_number(float("nan"), 2) == "–"
    assert format_number(None) == "–"
    assert format_number("inferred", 2) == "inferred"


def test_a_text_column_without_digits_formats_a_stray_number_whole():
    # digits None marks a column of text (the timeline's map version); a
    # number in it is shown without decimals instead of failing the table
    assert format_number(1234.56, None) == "1,235"
    table = text_table(
        [[1.0, "25 Nov 21:33 UTC"], [2.0, 7.5]], ["km²", "map"], digits=[1, None]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["km²", "map"]
    assert lines[-2].split() == ["1.0", "25", "Nov", "21:33", "UTC"]
    assert lines[-1].split() == ["2.0", "8"]
