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


def test_rows_csv_writes_what_frame_csv_writes():
    # Output built without pandas (`rows_csv`) is the CSV a frame of the same
    # rows gives (`frame_csv`), byte for byte: floats to the last digit, NaN
    # and None as empty cells, booleans, quoting, and formulas made inert.
    import math

    import pandas as pd

    from territory.tables import frame_csv, rows_csv

    columns = ["as_of", "name", "km2", "flag", "note"]
    values = [
        ("2025-08-15", "=1+1", math.nan, True, None),
        ("2025-08-16", 'a "b", c', 0.1 + 0.2, False, "x\ny"),
        ("2025-08-17", "-2", -0.0, True, "@x"),
        ("2025-08-18", "", 1e22, False, "+"),
        ("2025-08-19", "Донецьк", 116960.23630928053, True, "\tt"),
    ]
    rows = [dict(zip(columns, v, strict=True)) for v in values]
    assert rows_csv(rows, columns) == frame_csv(pd.DataFrame(rows, columns=columns))
    assert rows_csv(rows, columns).splitlines()[1] == "2025-08-15,'=1+1,,True,"
