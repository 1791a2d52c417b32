"""O001 codes in the forms СМО software writes them: numeric, alpha-3 and ``Б/Г``."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from rserz_soap.domain.countries import STATELESS, CountryCodes
from rserz_soap.files.nsi import bundled_files, parse_nsi_file


@dataclass(frozen=True)
class _Record:
    code: str
    data: dict[str, str] = field(default_factory=dict)


def _bundled() -> CountryCodes:
    (o001,) = [parse_nsi_file(p) for p in bundled_files() if p.stem == "O001"]
    return CountryCodes.from_records(o001.records)


def test_alpha3_maps_to_the_numeric_code_of_o001() -> None:
    codes = _bundled()

    assert codes.numeric("RUS") == "643"
    assert codes.numeric("UZB") == "860"
    assert codes.numeric("rus") == "643"  # letter case is no difference
    assert codes.numeric("643") == "643"


def test_stateless_mark_and_empty_values_mean_no_citizenship() -> None:
    codes = _bundled()

    assert codes.numeric(STATELESS) is None
    assert codes.numeric(" б/г ") is None
    assert codes.numeric("") is None
    assert codes.numeric(None) is None


def test_an_unknown_alpha3_or_a_typo_is_returned_as_sent() -> None:
    codes = _bundled()

    assert codes.numeric("XYZ") == "XYZ"
    assert codes.numeric("64") == "64"
    assert CountryCodes().numeric("RUS") == "RUS"  # no directory: nothing is guessed


def test_a_later_record_wins_for_the_same_alpha3() -> None:
    codes = CountryCodes.from_records([_Record("810", {"ALFA3": "SUN"}), _Record("999", {"ALFA3": "SUN"})])

    assert codes.numeric("SUN") == "999"


@given(st.from_regex(r"[0-9]{3}", fullmatch=True))
def test_a_numeric_code_passes_through_unchanged(code: str) -> None:
    assert _bundled().numeric(code) == code


@given(st.sampled_from(sorted(_bundled().by_alpha3.items())))
def test_every_alpha3_of_the_bundled_o001_resolves_to_its_own_record(pair: tuple[str, str]) -> None:
    alpha3, numeric = pair

    assert _bundled().numeric(alpha3) == numeric
    assert _bundled().numeric(alpha3.lower()) == numeric
