import pytest

from territory.errors import DataError
from territory.regions import load_region_table


@pytest.fixture(scope="module")
def table():
    return load_region_table()


def test_27_units_with_unique_codes(table):
    assert len(table) == 27
    kinds = [r.kind for r in table]
    assert kinds.count("oblast") == 24
    assert {"UA-43", "UA-30", "UA-40"} <= set(table.regions)


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("Donetsk", "UA-14"),
        ("donetska", "UA-14"),
        ("Donetsk Oblast", "UA-14"),
        ("Zaporizhia", "UA-23"),
        ("Zaporizhzhia", "UA-23"),
        ("ODESSA", "UA-51"),
        ("Odesa", "UA-51"),
        ("Kiev", "UA-30"),
        ("Kyiv", "UA-30"),
        ("Kyiv oblast", "UA-32"),
        ("Kharkov", "UA-63"),
        ("Kharkiv", "UA-63"),
        ("ua-09", "UA-09"),
        ("Luhansk", "UA-09"),
        ("Lugansk", "UA-09"),
        ("Crimea", "UA-43"),
        ("Autonomous Republic of Crimea", "UA-43"),
        ("Mykolaiv", "UA-48"),
    ],
)
def test_lookup_by_code_or_any_spelling(table, spelling, code):
    assert table.lookup(spelling).region_id == code


def test_unknown_name_suggests_closest(table):
    with pytest.raises(
        DataError, match=r"unknown region 'Donetzk'.*did you mean Donetsk"
    ):
        table.lookup("Donetzk")


def test_official_areas_match_sources(table):
    # State Statistics Service figures quoted in SOURCES.md.
    assert table.lookup("Odesa").official_area_km2 == 33_310
    assert table.lookup("Kyiv city").official_area_km2 == 839
    assert sum(r.official_area_km2 for r in table) == pytest.approx(603_628, rel=1e-3)
