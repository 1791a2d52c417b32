"""An extract of a person's record in the register: what the insured person holds instead of a blank.

Since 2022-12-01 a policy is a record in the register (326-ФЗ as amended, Правила ОМС 789н): the person is
given an extract — ЕНП, the СМО, the dates, the policy and a machine-readable code of the policy. The
official layout is not public; this value is what any layout shows, and :meth:`PolicyExtract.code` is the
text the machine-readable code carries (our choice, ``docs/federal.md``): one line of ``key=value`` pairs
that gives the policy back — the ЕНП, the policy's ФЕРЗЛ letter and number, the СМО and the dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rserz_soap.domain.person import PersonCard
from rserz_soap.domain.policy_types import LETTERS, letter_of

__all__ = ["PolicyExtract", "extract_of"]

CODE_VERSION = "1"


@dataclass(frozen=True)
class PolicyExtract:
    enp: str
    fio: str
    birth_date: date
    sex: int
    smo_code: str
    smo_name: str | None
    policy_letter: str
    policy_number: str
    policy_series: str | None
    valid_from: date
    valid_to: date | None
    insured: bool
    made_on: date

    @property
    def policy_title(self) -> str:
        return LETTERS[self.policy_letter].title

    def code(self) -> str:
        """The text of the machine-readable code: it gives back the person's policy."""
        parts = [
            f"V={CODE_VERSION}",
            f"ENP={self.enp}",
            f"PCY={self.policy_letter}",
            f"NUM={(self.policy_series or '') + self.policy_number}",
            f"SMO={self.smo_code}",
            f"FROM={self.valid_from.isoformat()}",
        ]
        if self.valid_to is not None:
            parts.append(f"TO={self.valid_to.isoformat()}")
        return ";".join(parts)


def extract_of(card: PersonCard, on: date, smo_name: str | None = None) -> PolicyExtract | None:
    """The extract of the policy ``card`` holds on ``on`` (the latest one when none is open then)."""
    period = card.period_on(on) or (max(card.insurance, key=lambda q: q.dbeg) if card.insurance else None)
    if period is None or card.enp is None:
        return None
    letter = letter_of(period.vpolis) if period.vpolis in (1, 2, 3, 4, 5) else "Ц"
    d = card.data
    return PolicyExtract(
        enp=card.enp,
        fio=d.full_name,
        birth_date=d.dr,
        sex=d.w,
        smo_code=period.smo_code,
        smo_name=smo_name,
        policy_letter=letter,
        policy_number=period.npolis if not LETTERS[letter].by_enp else card.enp,
        policy_series=period.spolis if letter == "С" else None,
        valid_from=period.dbeg,
        valid_to=period.dstop or period.dend,
        insured=card.insured_on(on),
        made_on=on,
    )
