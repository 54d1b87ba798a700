"""`territory regions`: the region table."""

from __future__ import annotations

from pathlib import Path

import click

from territory.cli.options import emit, format_option, handle_errors, output_option


@click.command(short_help="List the 27 regions with codes, spellings, areas.")
@format_option
@output_option
@handle_errors
def regions(fmt: str, output: Path | None) -> None:
    """List the first-level units: ISO 3166-2 code, name, kind, official area (km²)
    and the alternate spellings that every command accepts.

    \b
    Examples
      territory regions
      territory regions --format json
    """
    from territory import tables
    from territory.regions import load_region_table

    table = load_region_table()
    records = [
        {
            "region_id": r.region_id,
            "name": r.name,
            "kind": r.kind,
            "official_area_km2": r.official_area_km2,
            "aliases": list(r.aliases),
        }
        for r in table
    ]
    if fmt == "json":
        text = tables.to_json(records)
    elif fmt == "csv":
        import pandas as pd

        df = pd.DataFrame(records)
        df["aliases"] = df["aliases"].str.join(";")
        text = tables.frame_csv(df)
    else:
        rows = [
            [
                r["region_id"],
                r["name"],
                r["kind"],
                r["official_area_km2"],
                ", ".join(r["aliases"][:4]),
            ]
            for r in records
        ]
        text = tables.text_table(
            rows,
            ["Code", "Name", "Kind", "Official km²", "Also spelled"],
            digits=[0, 0, 0, 0, 0],
        )
    emit(text, output)
