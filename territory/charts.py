"""Charts of the record over time (matplotlib), for articles and reports.

`timeline_chart` draws what `territory timeline --plot` shows: Russian-held
land over time (and regions' as lines below), or, month by month, the net
change as bars with the gross gains and losses beside them.  `sweep_chart`
draws `territory evaluate --start --end --plot`: a scenario's transfers and
zones and its ratios on every date of a range.  Figures are
1,600 px wide at the default size, with the source and the map dating in a
footer; text from data is passed to matplotlib as plain text (no mathtext).

Figures are built without pyplot (`new_figure`): no backend is forced, so a
chart shows in Jupyter when it ends a cell and is saved headless alike.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Figure size (inches) and resolution: 16 × 9 in at 100 dpi, 1,600 × 900 px.
SIZE_IN = (16.0, 9.0)
DPI = 100
#: The Okabe–Ito palette (Okabe & Ito 2008), told apart with the common
#: colour-vision deficiencies (protanopia, deuteranopia, tritanopia).  The
#: charts and the static maps (`territory.maps.figures`) take their colours from it.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: The colours of the map layers, shared by the HTML maps (`territory.maps`)
#: and the static figures (`territory.maps.figures`): holders, moves by direction,
#: zones and lines.
LAYER_COLOURS = {
    "RU": OKABE_ITO["vermillion"],
    "GREY": "#8d8d8d",
    "UA": OKABE_ITO["blue"],
    "UA>RU": OKABE_ITO["reddish_purple"],
    "RU>UA": OKABE_ITO["bluish_green"],
    ">DMZ": OKABE_ITO["yellow"],
    "zone": OKABE_ITO["yellow"],
    "front_before": OKABE_ITO["black"],
    "front_after": OKABE_ITO["orange"],
    "edge_ua": OKABE_ITO["blue"],
    "edge_ru": OKABE_ITO["vermillion"],
}
#: The colours of Russian-held land and of its gains and losses.
RU_COLOUR = OKABE_ITO["vermillion"]
GAIN_COLOUR = OKABE_ITO["vermillion"]
LOSS_COLOUR = OKABE_ITO["blue"]
NET_COLOUR = "#555555"
#: Colour of secondary text (footers, notes, attributions).
TEXT_GREY = "#555555"
FORMATS = (".png", ".svg", ".pdf")
SOURCE = "Control: DeepStateMap (deepstatemap.live); areas by territory (WGS84 ellipsoidal km², land only)"


def _plain(text: str) -> str:
    """Text from data, shown as is (``$`` would start mathtext)."""
    return text.replace("$", r"\$")


@lru_cache(maxsize=1)
def _figure_class() -> type:
    from matplotlib.figure import Figure

    class Chart(Figure):
        """A matplotlib Figure that Jupyter shows as a PNG at its own resolution.

        Built without pyplot, so no backend is chosen or forced: it draws
        off-screen (Agg) wherever it runs, and a notebook shows it when it
        ends a cell (`_repr_png_`; no ``%matplotlib`` magic needed).
        """

        def _repr_png_(self) -> bytes:
            import io

            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi="figure")
            return buf.getvalue()

    return Chart


def new_figure(*, size_in: tuple[float, float] = SIZE_IN, dpi: float = DPI) -> Figure:
    """Return an empty figure (`Chart`) of `size_in` inches at `dpi`, drawn by Agg.

    No pyplot: the figure belongs to no window and no backend is forced, so
    it displays in Jupyter and saves headless alike (`save_chart`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _figure(rows: int = 1) -> tuple[Figure, list[Axes]]:
    fig = new_figure()
    axes = fig.subplots(rows, 1, squeeze=False)
    # constrained layout, leaving the bottom 3% to the footer
    fig.set_layout_engine("constrained", rect=(0, 0.03, 1, 0.97))
    return fig, [a for (a,) in axes]


def timeline_chart(
    df: pd.DataFrame, *, title: str, region_names: dict[str, str] | None = None
) -> Figure:
    """Return a figure of Russian-held land over time (one row per date).

    `df` is `Record.occupied_series`; `region_names` maps the region columns
    to draw (by id) to their names: they get a panel of their own.
    """
    regions = region_names or {}
    fig, axes = _figure(2 if regions else 1)
    dates = _dates(df)
    ax = axes[0]
    ax.plot(dates, df["occupied_km2"], color=RU_COLOUR, linewidth=2)
    ax.set_ylabel("Russian-held km²")
    ax.set_title(_plain(title), loc="left", fontsize=16)
    ax.grid(alpha=0.3)
    ax.yaxis.set_major_formatter(_thousands())
    if regions:
        for rid, name in regions.items():
            axes[1].plot(dates, df[rid], linewidth=1.6, label=_plain(name))
        axes[1].set_ylabel("Russian-held km² by region")
        axes[1].legend(loc="upper left", ncols=min(4, len(regions)), fontsize=9)
        axes[1].grid(alpha=0.3)
        axes[1].yaxis.set_major_formatter(_thousands())
    _footer(fig, df)
    return fig


def monthly_chart(df: pd.DataFrame, *, title: str) -> Figure:
    """Return a figure of the monthly net change as bars, gains and losses beside.

    `df` is `Record.occupied_by_month`; the first month of the record, with
    no previous map, has no bar.
    """
    import numpy as np

    fig, (ax,) = _figure(1)
    rows = df.dropna(subset=["change_km2"])
    x = np.arange(len(rows))
    ax.bar(
        x - 0.27, rows["gained_km2"], 0.26, color=GAIN_COLOUR, label="gained (gross)"
    )
    ax.bar(x, rows["change_km2"], 0.26, color=NET_COLOUR, label="net change")
    ax.bar(x + 0.27, -rows["lost_km2"], 0.26, color=LOSS_COLOUR, label="lost (gross)")
    ax.axhline(0, color="black", linewidth=0.8)
    months = rows.get("month", rows.index)
    ax.set_xticks(x, [str(m) for m in months], rotation=45, ha="right")
    ax.set_ylabel("km² a month")
    ax.set_title(_plain(title), loc="left", fontsize=16)
    ax.legend(loc="best")
    ax.grid(axis="y", alpha=0.3)
    ax.yaxis.set_major_formatter(_thousands())
    _footer(fig, df)
    return fig


def sweep_chart(
    df: pd.DataFrame,
    *,
    title: str,
    moves: dict[str, str],
    marked: Sequence[dt.date] = (),
) -> Figure:
    """Return a figure of a scenario across time: areas above, ratios below.

    `df` is `territory.sweep.sweep_scenario` (one row per date); `moves`
    maps the area columns to draw (``transfer:<name>_km2``,
    ``zone:<name>_km2``) to their labels.  The lower panel draws the cession
    ratio, and the zone ratio where the scenario has one; a ratio with no
    denominator leaves a gap.  The dates `marked` (maps that draw a grey
    zone among maps that draw none) are ringed, with a note below.
    """
    import pandas as pd

    fig, (ax, rx) = _figure(2)
    dates = _dates(df)
    marker = "o" if len(df) <= 60 else None  # a few dates: show each one
    ring = dates.isin(pd.DatetimeIndex(list(marked))) if len(marked) else None
    for col, label in moves.items():
        ax.plot(dates, df[col], linewidth=2, marker=marker, label=_plain(label))
        if ring is not None:
            _ring(ax, dates[ring], df[col][ring])
    ax.set_ylabel("km²")
    ax.set_title(_plain(title), loc="left", fontsize=16)
    ax.grid(alpha=0.3)
    ax.yaxis.set_major_formatter(_thousands())
    if moves:
        ax.legend(loc="best", fontsize=9)
    ratios = {"cession_ratio": ("cession ratio (UA→RU ÷ RU→UA)", NET_COLOUR)}
    if pd.to_numeric(df["zone_ratio"], errors="coerce").notna().any():
        ratios["zone_ratio"] = ("zone ratio (UA→DMZ ÷ RU→DMZ)", LOSS_COLOUR)
    for col, (label, colour) in ratios.items():
        values = pd.to_numeric(df[col], errors="coerce")
        rx.plot(dates, values, color=colour, linewidth=2, marker=marker, label=label)
        if ring is not None:
            _ring(rx, dates[ring], values[ring])
    rx.set_ylabel("km² given per km² received")
    rx.legend(loc="best", fontsize=9)
    rx.grid(alpha=0.3)
    _footer(fig, df)
    first, last = df["snapshot"].iloc[0], df["snapshot"].iloc[-1]
    maps = f"Maps: {first}" if first == last else f"Maps: {first} … {last}"
    fig.text(0.99, 0.003, _plain(maps), fontsize=8, color=TEXT_GREY, ha="right")
    if ring is not None and ring.any():
        days = ", ".join(d.date().isoformat() for d in dates[ring][:3])
        more = " …" if ring.sum() > 3 else ""
        fig.text(
            0.01,
            0.025,
            f"Ringed ({days}{more}): DeepState's own snapshot, which draws a grey "
            "zone that the daily files count as Ukrainian-held: not comparable",
            fontsize=8,
            color=TEXT_GREY,
        )
    return fig


def _ring(ax: Axes, x, y) -> None:
    """Ring the points (`x`, `y`) of a line (`sweep_chart`'s marked dates)."""
    ax.scatter(
        x, y, s=180, facecolors="none", edgecolors=TEXT_GREY, linewidths=1.5, zorder=5
    )


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _dates(df: pd.DataFrame) -> pd.DatetimeIndex:
    """Return the dates of a frame over time: its ``as_of`` index, or column."""
    import pandas as pd

    return pd.DatetimeIndex(df.get("as_of", df.index))


def _footer(fig: Figure, df: pd.DataFrame) -> None:
    dated = ""
    if "map_version" in df:
        inferred = int((df["map_version"] == "").sum())
        dated = "; maps dated by the version they show" + (
            f" ({inferred} inferred ±1 day)" if inferred else ""
        )
    fig.text(0.01, 0.003, _plain(SOURCE + dated), fontsize=8, color=TEXT_GREY)


def save_chart(fig: Figure, path: Path | str) -> None:
    """Write a figure to `path` (.png, .svg or .pdf) atomically (`territory.io`).

    A PNG has the figure's own resolution (its size in inches × its dpi).
    """
    import matplotlib

    from territory.errors import OutputError
    from territory.io import output_file

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        msg = f"{path.name!r}: a chart is written as {', '.join(FORMATS)}; name the file like chart.png"
        raise OutputError(msg)
    # SVG keeps its text as text, so an editor can restyle it for print
    with output_file(path) as tmp, matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(tmp, format=suffix[1:], dpi="figure")
