"""Policy types: ФЕРЗЛ's letters (``pcyType``) and the F008 codes the regional formats carry, in one table.

ФОМС's description of the services (v5.07 §5, commonTypes ``pcyType`` = ``[СВЕПЭКХМЦ]``) names nine
kinds; F008 (as loaded, ``data/nsi/F008.xml``) has five codes. Each letter maps to the F008 code of the
document the person holds; the reverse direction takes the first letter listed for a code. Letters with
no F008 code of their own are mapped to the nearest one and say so (a choice, docs/federal.md).

Since 2022-12-01 (326-ФЗ as amended, Правила ОМС 789н) a new policy is the digital one (Ц): a record in
the register numbered by the ЕНП, formed by ФЕРЗЛ on the day of the application; paper and plastic
policies stay valid and are never replaced for form's sake; a ВС is no longer issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DIGITAL",
    "LETTERS",
    "PolicyKind",
    "f008_of",
    "letter_of",
    "numbered_by_enp",
]


@dataclass(frozen=True)
class PolicyKind:
    letter: str  # ФЕРЗЛ pcyType
    title: str
    f008: int  # the F008 IDDOC the register stores (VPOLIS)
    by_enp: bool  # the «Полис» of the витрины is the ЕНП (§3.2.6: П, Э, Х, Ц)
    note: str = ""


#: §5 «pcyType», in the document's order; the first letter of an F008 code is its reverse mapping.
LETTERS: Final[Mapping[str, PolicyKind]] = {
    k.letter: k
    for k in (
        PolicyKind("С", "полис старого образца", 1, False),
        PolicyKind("В", "временное свидетельство (бумажное)", 2, False),
        PolicyKind("П", "полис единого образца на бумажном бланке", 3, True),
        PolicyKind("Э", "электронный полис единого образца", 4, True),
        PolicyKind("Ц", "полис в форме цифрового кода (выписка, ЕНП)", 5, True),
        PolicyKind("Е", "временное свидетельство в электронной форме", 2, False, "F008 has no code: as a ВС"),
        PolicyKind("К", "полис в составе УЭК", 4, False, "F008 has no code: as an electronic policy"),
        PolicyKind("Х", "поставлен на учёт без полиса", 5, True, "F008 has no code: numbered by the ЕНП"),
        PolicyKind("М", "поставлен на учёт в МФЦ", 5, True, "F008 has no code: numbered by the ЕНП"),
    )
}

#: the policy every new registration gets (§3.3.1 examples: createdPcy pcyType «Ц», status ДНП)
DIGITAL: Final = "Ц"

_BY_F008: Final[dict[int, str]] = {}
for _kind in LETTERS.values():
    _BY_F008.setdefault(_kind.f008, _kind.letter)


def f008_of(letter: str) -> int:
    """The F008 code of a ФЕРЗЛ letter; KeyError for a letter §5 does not list."""
    return LETTERS[letter].f008


def letter_of(vpolis: int) -> str:
    """The ФЕРЗЛ letter of an F008 code (the first kind listed for it)."""
    try:
        return _BY_F008[vpolis]
    except KeyError:
        raise KeyError(f"F008 code {vpolis} has no ФЕРЗЛ letter") from None


def numbered_by_enp(letter: str) -> bool:
    return LETTERS[letter].by_enp
