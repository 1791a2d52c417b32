"""The region's attachment codes and the federal areaType / attachMethod (ferzl-services.md §5)."""

from __future__ import annotations

import pytest

from rserz_soap.domain.attachment_codes import (
    AREA_TYPES,
    ATTACH_METHODS,
    federal_area_type,
    federal_attach_method,
)

#: ФЕРЗЛ: areaType 1 therapeutic, 2 obstetric-gynaecological, 3 dental, 4 СМП, 5 ФАП.
FEDERAL_AREA_TYPES = {1, 2, 3, 4, 5}
#: attachMethod 1 territorial, 2 personal application, 3 electronic application, 4 order.
FEDERAL_METHODS = {1, 2, 3, 4}


@pytest.mark.parametrize(
    ("regional", "federal"),
    [(1, 1), (2, 1), (3, 1), (4, 2), (5, 3)],
    ids=["therapeutic", "paediatric", "general practice", "obstetric", "dental"],
)
def test_area_types_map_to_the_federal_table(regional: int, federal: int) -> None:
    assert federal_area_type(regional) == federal


@pytest.mark.parametrize(("regional", "federal"), [(1, 1), (2, 2), (3, 3), (4, 4)])
def test_attachment_methods_map_to_the_federal_table(regional: int, federal: int) -> None:
    assert federal_attach_method(regional) == federal


def test_unknown_codes_have_no_federal_code() -> None:
    assert federal_area_type(9) is None
    assert federal_attach_method(0) is None


def test_the_table_only_names_federal_codes_that_exist() -> None:
    assert {c.federal for c in AREA_TYPES.values()} <= FEDERAL_AREA_TYPES
    assert {c.federal for c in ATTACH_METHODS.values()} == FEDERAL_METHODS
    assert all(code == entry.code and entry.title for code, entry in {**AREA_TYPES}.items())
