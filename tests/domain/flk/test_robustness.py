"""Whatever a СМО sends, the checks answer with a protocol and never crash.

Records come from outside; a rule that raises on an odd date or an empty string would turn one bad record
into a failed batch. Hypothesis feeds the engine records with arbitrary text, codes and dates (up to
9999-12-31) against random card states.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rserz_soap.domain.flk.directory import ErrorDirectory
from rserz_soap.domain.flk.engine import check_batch
from rserz_soap.domain.flk.reference import InMemoryReference
from rserz_soap.domain.person import Document, PersonCard, Status
from rserz_soap.domain.records import Op, OperationRecord, PolicyInput
from tests.domain.flk.builders import TODAY, insured_card, period, valid_record, with_insurance, with_person

_text = st.text(alphabet=st.sampled_from("АБВЁабвё -'’.IVX19 \t"), max_size=45)
_dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
_small = st.integers(min_value=-1, max_value=30)
_ops = st.sampled_from([*(op.value for op in Op), "П099", ""])


@st.composite
def _records(draw: st.DrawFn) -> OperationRecord:
    record = valid_record(draw(_ops), n_rec=draw(st.integers(1, 3)))
    record = with_person(
        record,
        fam=draw(_text),
        im=draw(_text),
        ot=draw(st.none() | _text),
        w=draw(_small),
        dr=draw(_dates),
        dost=draw(st.none() | st.text("123456789 ,x", max_size=4)),
        kateg=draw(_small),
        c_oksm=draw(st.sampled_from([None, "643", "860", "112", "999", ""])),
        ss=draw(st.none() | st.text("0123456789- ", max_size=14)),
    )
    policy = draw(
        st.none()
        | st.builds(
            PolicyInput,
            vpolis=_small,
            npolis=st.text("0123456789A", max_size=17),
            dbeg=_dates,
            spolis=st.none() | _text,
            dend=st.none() | _dates,
        )
    )
    record = with_insurance(
        record,
        policy=policy,
        enp=draw(st.none() | st.text("0123456789", max_size=17)),
        smo_code=draw(st.sampled_from(["45001", "45004", "99999", ""])),
    )
    documents = draw(
        st.lists(
            st.builds(
                Document,
                doctype=st.integers(0, 30),
                docser=st.none() | _text,
                docnum=_text,
                docdate=st.none() | _dates,
                docexp=st.none() | _dates,
                is_main=st.booleans(),
            ),
            max_size=3,
        )
    )
    return dataclasses.replace(
        record,
        documents=tuple(documents),
        ddeath=draw(st.none() | _dates),
        extra={"MO": draw(st.sampled_from(["", "450001", "x"])), "OLD_ENP": draw(st.sampled_from(["", "1"]))},
    )


_cards = st.none() | st.builds(
    lambda status, other, dbeg, rsmo: insured_card(
        status=status, insurance=frozenset({period(other, dbeg=dbeg, rsmo=rsmo)})
    ),
    st.sampled_from(list(Status)),
    st.sampled_from(["45001", "45002", "45004"]),
    _dates,
    _small,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(_records(), _cards), min_size=1, max_size=3))
def test_any_record_gets_a_protocol_not_an_exception(
    batch: list[tuple[OperationRecord, PersonCard | None]], directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    errors = check_batch(batch, ref, directory, today=TODAY)

    n_recs = {record.n_rec for record, _ in batch}
    for error in errors:
        assert error.code in directory and directory[error.code].enabled
        assert error.comment.startswith(directory[error.code].message)
        assert error.n_rec in n_recs
