"""An extract of a person's record (``domain/extract.py``) for the CLI now, the console later."""

from __future__ import annotations

from datetime import date

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.extract import PolicyExtract, extract_of


def policy_extract(uow: UnitOfWork, enp: str, on: date) -> PolicyExtract | None:
    """The extract of the person an ЕНП (main or alias) finds, as on ``on``; None when nobody is found."""
    with uow:
        card = uow.persons.card_by_enp(enp)
        if card is None:
            return None
        period = card.period_on(on)
        record = uow.nsi.record_on("F002", period.smo_code, on) if period is not None else None
        name = (record.data.get("nam_smok") or record.data.get("nam_smop")) if record is not None else None
        return extract_of(card, on, name)
