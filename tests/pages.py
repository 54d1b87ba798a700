"""Helpers for the tests of rendered pages: the GeoJSON a page embeds."""

from __future__ import annotations

import json
import re
from typing import Any


def embedded_geojson(page: str) -> list[dict[str, Any]]:
    """Return the GeoJSON objects embedded in a rendered page (folium's ``geo_json_*_add({...})``)."""
    decoder = json.JSONDecoder()
    out = []
    for m in re.finditer(r"geo_json_\w+_add\(\{", page):
        obj, _ = decoder.raw_decode(page, m.end() - 1)
        out.append(obj)
    return out
