"""territory: evaluate proposed territorial swaps in the Russia-Ukraine war.

Public API
----------
Record
    The cached record: regions, land, control snapshots; ``Record().control(date)``.
Control
    Who holds what, by region, on a date (``to_frame()``, ``holding()``,
    ``holdings()``, ``holding_km2()``).
fetch, status, verify
    Manifest-driven data cache.
area_km2, length_km
    Ellipsoidal (WGS84) area of lon/lat polygons with straight edges, as GeoJSON
    defines them; geodesic length.
load_region_table
    The 27 first-level units with codes, spellings and official areas.
read_scenario, library, Scenario
    Swap scenarios (TOML) and the library of 2025 proposals.
evaluate, compare, Evaluation
    Apply a scenario to a control map: flows, both ratios, people, contact line.
balance, balance_mirror
    Solve the withdrawal band that makes an offer reciprocal.
pace
    The rate of Russia's advance over a window, and what remains at that rate
    (arithmetic on the record, not a forecast).
sweep_scenario, sweep_dates
    Evaluate one scenario on every date of a range: one row per date (local
    processes or a Dask cluster).
scenario_toml
    A scenario as the text of a scenario file.

Maps are in `territory.maps` (``render_control``, ``render_scenario``,
``render_compare``, ``save_map``).
"""

from typing import TYPE_CHECKING

from territory.errors import (
    CRSError,
    DataError,
    DataNotFoundError,
    FetchError,
    ScenarioError,
    TerritoryError,
)

__version__ = "0.1.0"

#: Where each public name lives.  They are imported on first use (PEP 562), so
#: ``import territory`` and ``territory --help`` load neither shapely nor
#: geopandas; the first use also imports `territory.tables`, which attaches the
#: notebook display (``_repr_html_``) to `Control` and `Evaluation`.
_LAZY = {
    "Evaluation": "territory.accounting",
    "compare": "territory.accounting",
    "evaluate": "territory.accounting",
    "Balance": "territory.balancing",
    "balance": "territory.balancing",
    "balance_mirror": "territory.balancing",
    "GREY": "territory.control",
    "RU": "territory.control",
    "UA": "territory.control",
    "Control": "territory.control",
    "fetch": "territory.datasets",
    "status": "territory.datasets",
    "verify": "territory.datasets",
    "area_km2": "territory.geodesy",
    "length_km": "territory.geodesy",
    "pace": "territory.pace",
    "Record": "territory.record",
    "load_region_table": "territory.regions",
    "Rule": "territory.scenario",
    "Scenario": "territory.scenario",
    "Transfer": "territory.scenario",
    "Zone": "territory.scenario",
    "library": "territory.scenario",
    "parse_scenario": "territory.scenario",
    "read_scenario": "territory.scenario",
    "scenario_toml": "territory.scenario",
    "sweep_scenario": "territory.sweep",
    "sweep_dates": "territory.sweep",
}

if TYPE_CHECKING:
    from territory.accounting import Evaluation, compare, evaluate
    from territory.balancing import Balance, balance, balance_mirror
    from territory.control import GREY, RU, UA, Control
    from territory.datasets import fetch, status, verify
    from territory.geodesy import area_km2, length_km
    from territory.pace import pace
    from territory.record import Record
    from territory.regions import load_region_table
    from territory.scenario import (
        Rule,
        Scenario,
        Transfer,
        Zone,
        library,
        parse_scenario,
        read_scenario,
        scenario_toml,
    )
    from territory.sweep import sweep_dates, sweep_scenario


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'territory' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    importlib.import_module("territory.tables")  # notebook display, see _LAZY
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "GREY",
    "RU",
    "UA",
    "Balance",
    "CRSError",
    "Control",
    "DataError",
    "DataNotFoundError",
    "Evaluation",
    "FetchError",
    "Record",
    "Rule",
    "Scenario",
    "ScenarioError",
    "TerritoryError",
    "Transfer",
    "Zone",
    "__version__",
    "area_km2",
    "balance",
    "balance_mirror",
    "compare",
    "evaluate",
    "fetch",
    "length_km",
    "library",
    "load_region_table",
    "pace",
    "parse_scenario",
    "read_scenario",
    "scenario_toml",
    "status",
    "sweep_dates",
    "sweep_scenario",
    "verify",
]
