"""Pages that work without a network: Leaflet inlined, stable ids, atomic writing.

With ``self_contained=True`` (`to_html`, `save_map`) every external script and
stylesheet folium links is removed and the vendored Leaflet 1.9.4 (its CSS,
with its two layer-control images as data URLs, and its script) is inlined.
Element ids are sequential instead of folium's random ones, so the same input
renders the same page.  In a notebook a map shows itself as a sandboxed
``<iframe srcdoc>`` of that self-contained page (`offline_map_class`).
"""

from __future__ import annotations

import base64
import html
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import folium

    from territory.io import OutputTarget

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "leaflet"

_EXTERNAL_TAG = re.compile(
    r'<script[^>]+src="https?://[^"]+"[^>]*>\s*</script>\s*|<link[^>]+href="https?://[^"]+"[^>]*/?>\s*',
    re.I,
)


def folium_module() -> Any:
    """Return folium (imported on first use: the only package that imports it)."""
    try:
        import folium
    except ImportError as err:  # pragma: no cover - folium is a dependency
        msg = "maps need folium; install it with 'pip install folium'"
        raise ImportError(msg) from err
    return folium


@lru_cache(maxsize=1)
def offline_map_class() -> type:
    """Return the folium Map class of these pages (see the module docstring)."""
    # a module imported at run time (folium is lazy): its classes are Any here
    folium: Any = folium_module()

    class OfflineMap(folium.Map):
        """A folium Map that shows itself in notebooks from a self-contained page (no CDN)."""

        # **kwargs: the signature of folium.Map._repr_html_, which this overrides
        def _repr_html_(self, **kwargs: Any) -> str:  # noqa: ARG002
            page = html.escape(to_html(self, self_contained=True), quote=True)
            return (
                f'<iframe srcdoc="{page}" style="width:100%;height:560px;border:none" '
                'sandbox="allow-scripts"></iframe>'
            )

    return OfflineMap


def inline_leaflet() -> str:
    """Return the vendored Leaflet as a ``<style>`` and a ``<script>`` element."""
    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")
    for img in ("layers-2x.png", "layers.png"):
        data = base64.b64encode((VENDOR / "images" / img).read_bytes()).decode()
        css = css.replace(f"images/{img}", f"data:image/png;base64,{data}")
    css = re.sub(r"url\(images/[^)]+\)", "none", css)  # marker images: unused
    js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>\n"


def stable_ids(root: Any) -> None:
    """Give every element a sequential id instead of folium's random uuid: same input, same page."""
    counter = 0

    def walk(element: Any) -> None:
        nonlocal counter
        counter += 1
        element._id = f"{counter:06d}"
        for child in element._children.values():
            walk(child)

    walk(root)


def to_html(fmap: folium.Map, *, self_contained: bool = True) -> str:
    """Render a map to one HTML page.

    With `self_contained`, every external script and stylesheet folium links
    (Leaflet, and the jQuery/Bootstrap/icon fonts these maps do not use) is
    removed and Leaflet is inlined: the page renders with no network.
    """
    stable_ids(fmap.get_root())
    page = fmap.get_root().render()
    if not self_contained:
        return page
    page = _EXTERNAL_TAG.sub("", page)
    return page.replace("<head>", "<head>\n" + inline_leaflet(), 1)


def save_map(
    fmap: folium.Map, path: OutputTarget | Path | str, *, self_contained: bool = True
) -> None:
    """Write a map to `path` as one HTML page (see `to_html`).

    Written like every output (`territory.io.write_output`): a regular file is
    replaced atomically, a symlink or a device is written through, and a
    read-only file or an unwritable place raises `OutputError`.
    """
    from territory.io import write_output

    write_output(path, to_html(fmap, self_contained=self_contained).encode("utf-8"))
