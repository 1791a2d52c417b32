"""The federal copy differs from the region exactly where the planted list says, and nowhere else."""

from __future__ import annotations

import pytest

from rserz_soap.config import load_settings
from rserz_soap.demo.load import region_reference_from_files
from rserz_soap.demo.region import RegionReference, generate
from rserz_soap.emulators.ferzl.population import (
    Divergence,
    federal_only_count,
    federal_only_persons,
    federal_population,
    federal_slice,
)

N = 3_000


@pytest.fixture(scope="module")
def reference() -> RegionReference:
    return region_reference_from_files(load_settings())


def test_every_difference_is_planted_and_every_planted_one_is_real(reference: RegionReference) -> None:
    federal, planted = federal_population(reference, N, seed=5, share=0.05)
    regional = {p.enp: p.to_card() for p in generate(reference, N, 5)}
    fed = {f.card.enp: f.card for f in federal}
    marks = {(m.enp, m.kind) for m in planted}
    kinds = {m.kind for m in planted}
    assert kinds == set(Divergence), kinds  # every kind occurs at this size
    for enp, card in regional.items():
        other = fed.get(enp)
        if other is None:
            assert (enp, Divergence.MISSING_FEDERALLY) in marks
        elif other != card:
            assert any(e == enp for e, _k in marks), enp
        else:
            assert not any(e == enp for e, _k in marks), enp
    for m in planted:
        if m.kind is Divergence.MISSING_REGIONALLY:
            assert m.enp in fed and m.enp not in regional
        elif m.kind is not Divergence.MISSING_FEDERALLY:
            assert fed[m.enp] != regional[m.enp] and m.regional != m.federal
    share = sum(1 for m in planted if m.kind is not Divergence.MISSING_REGIONALLY) / N
    assert 0.03 < share < 0.07


def test_deterministic_and_zero_share_means_identical(reference: RegionReference) -> None:
    a = federal_population(reference, 500, seed=9, share=0.1)
    b = federal_population(reference, 500, seed=9, share=0.1)
    assert a == b
    same, none = federal_population(reference, 300, seed=9, share=0.0)
    assert none == [] and [f.card for f in same] == [p.to_card() for p in generate(reference, 300, 9)]


def test_planted_fields_use_the_hub_reconciliation_names(reference: RegionReference) -> None:
    _federal, planted = federal_population(reference, N, seed=5, share=0.05)
    expected = {
        Divergence.DOCUMENT: "document",
        Divergence.SNILS: "ss",
        Divergence.SMO: "smo",
        Divergence.DEATH_ONLY_FEDERAL: "ddeath",
        Divergence.MISSING_FEDERALLY: None,
        Divergence.MISSING_REGIONALLY: None,
    }
    assert {m.kind: m.field for m in planted} == expected


def test_slices_computed_apart_make_the_whole(reference: RegionReference) -> None:
    whole, marks = federal_population(reference, 900, seed=4, share=0.1)
    people, planted = [], []
    for start in range(0, 900, 250):
        part, part_marks = federal_slice(reference, 900, 4, start, min(start + 250, 900), share=0.1)
        people += part
        planted += part_marks
    extra, extra_marks = federal_only_persons(reference, 900, 4, federal_only_count(len(planted), 0.1))
    assert (people + extra, planted + extra_marks) == (whole, marks)
