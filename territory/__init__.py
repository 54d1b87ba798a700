"""territory: evaluate proposed territorial swaps in the Russia-Ukraine war.

Public API
----------
Record
    The cached record: regions, land, control snapshots; ``Record().control(date)``.
Control
    Who holds what, by region, on a date (``to_frame()``, ``holding()``).
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
scenario_toml
    A scenario as the text of a scenario file.

Maps are in `territory.maps` (``render_control``, ``render_scenario``,
``render_compare``, ``save_map``).
"""

from territory.accounting import Evaluation, compare, evaluate
from territory.balancing import Balance, balance, balance_mirror
from territory.control import GREY, RU, UA, Control
from territory.datasets import fetch, status, verify
from territory.errors import (
    CRSError,
    DataError,
    DataNotFoundError,
    FetchError,
    ScenarioError,
    TerritoryError,
)
from territory.geodesy import area_km2, length_km
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

__version__ = "0.1.0"

# Notebook display is presentation: the outputs layer provides it and the façade
# wires it in, so that the domain and accounting layers never import upwards.
from territory import tables as _tables

Control._repr_html_ = _tables.control_html  # type: ignore[attr-defined]
Evaluation._repr_html_ = _tables.evaluation_html  # type: ignore[attr-defined]

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
    "parse_scenario",
    "read_scenario",
    "scenario_toml",
    "status",
    "verify",
]
