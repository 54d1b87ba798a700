"""Ukraine's land neighbours and the stretches of the state border each one shares.

The facts live in ``geodata/neighbours.csv``: one row per stretch of the land
border, from one tripoint (or the coast) to the next, with the official length
of the whole border with that neighbour.  A neighbour may have several
stretches (Romania: north of Moldova and along the Danube).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from territory.errors import DataError
from territory.manifest import geodata_dir

LonLat = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A neighbouring state and the stretches of land border shared with it."""

    code: str
    name: str
    stretches: tuple[tuple[LonLat, LonLat], ...]
    official_length_km: float


@lru_cache(maxsize=1)
def load_neighbours() -> dict[str, Neighbour]:
    """Return the land neighbours by ISO 3166-1 alpha-2 code (``RU``, ``BY``, ...).

    Examples
    --------
    >>> sorted(load_neighbours())
    ['BY', 'HU', 'MD', 'PL', 'RO', 'RU', 'SK']
    >>> load_neighbours()["RO"].name, len(load_neighbours()["RO"].stretches)
    ('Romania', 2)
    """
    path = geodata_dir() / "neighbours.csv"
    rows: dict[str, dict] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                stretch = (
                    (float(r["from_lon"]), float(r["from_lat"])),
                    (float(r["to_lon"]), float(r["to_lat"])),
                )
                entry = rows.setdefault(
                    r["code"],
                    {
                        "name": r["name"],
                        "stretches": [],
                        "length": float(r["official_length_km"]),
                    },
                )
                entry["stretches"].append(stretch)
    except (OSError, KeyError, ValueError) as err:
        msg = f"{path} is missing or malformed ({err}); reinstall territory"
        raise DataError(msg) from None
    return {
        code: Neighbour(code, e["name"], tuple(e["stretches"]), e["length"])
        for code, e in rows.items()
    }
