"""4xx — insurance: СМО and territory, policy type, number and dates, МО, the application (VIZIT).

Policy number by type (F008): old-style policies (1) have a series and a number of their own; a ВС (2)
has a 9-digit number; single-format policies (3 paper, 4 electronic, 5 digital) are numbered by the ЕНП
itself. A ВС is valid for 30 working days from its start (Правила ОМС); the calendar is the Reference's.

A policy may start at most one day after today: СМО software prepares records in the evening for the next
morning, and anything later is a typo or a policy that does not exist yet.

Value ranges of the application (domain reference §4): METHOD 1–4, RSMO 1–4, RPOLIS 1–6. The reason of
choice/change of СМО must fit the operation (``RSMO_BY_OPERATION``). VIZIT may be absent only from
de-registrations and changes of data (``VISIT_OPTIONAL``); a change of СМО by wish is accepted until 1 November
of the application's year (326-ФЗ art. 16 part 1 item 3).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Final

from rserz_soap.domain.flk.rules import Finding, RuleContext, fmt_date, plus, rule
from rserz_soap.domain.person import PolicyType
from rserz_soap.domain.records import BY_WISH, ISSUES_POLICY, VISIT_OPTIONAL, Op

VS_WORKING_DAYS: Final = 30
VS_NUMBER_LENGTH: Final = 9
ENP_LENGTH: Final = 16
POLICY_START_LEAD: Final = timedelta(days=1)
SINGLE_FORMAT: Final = frozenset(
    {
        PolicyType.SINGLE_PAPER,
        PolicyType.SINGLE_ELECTRONIC,
        PolicyType.SINGLE_DIGITAL,
    }
)
METHODS: Final = range(1, 5)
RSMO_VALUES: Final = range(1, 5)
RPOLIS_VALUES: Final = range(1, 7)

#: (month, day) of the last day in a year an application for a change of СМО by wish is accepted.
CHANGE_BY_WISH_DEADLINE: Final = (11, 1)

#: RSMO an operation of choice/change of СМО must state: 1 first choice, 2 yearly change, 3 moving,
#: 4 the СМО's contract ended.
RSMO_BY_OPERATION: Final[Mapping[Op, int]] = {
    Op.P010: 1,
    Op.P031: 2,
    Op.P034: 2,
    Op.P032: 3,
    Op.P035: 3,
    Op.P033: 4,
    Op.P036: 4,
}


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


@rule("401")
def smo_in_f002(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.ref.smo(ctx.submitter, ctx.event_date) is None:
        yield Finding(f"СМО «{ctx.submitter}» (F002 на {fmt_date(ctx.event_date)})")


@rule("402")
def policy_present(ctx: RuleContext) -> Iterator[Finding]:
    op = ctx.op
    if op is not None and op in ISSUES_POLICY and ctx.policy is None:
        yield Finding(f"операция {op.value} без POLIS")


@rule("403")
def territory_is_region(ctx: RuleContext) -> Iterator[Finding]:
    ter_st = ctx.record.insurance.ter_st
    if ter_st != ctx.ref.region_okato:
        yield Finding(f"TER_ST «{ter_st}», ОКАТО региона «{ctx.ref.region_okato}»")


@rule("404")
def policy_type_in_f008(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is not None and not ctx.ref.policy_type(policy.vpolis, ctx.event_date):
        yield Finding(f"VPOLIS={policy.vpolis} (F008 на {fmt_date(ctx.event_date)})")


@rule("405")
def vs_number(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is None or policy.vpolis != PolicyType.VS:
        return
    if not _is_digits(policy.npolis, VS_NUMBER_LENGTH):
        yield Finding(f"NPOLIS «{policy.npolis}»: номер ВС — {VS_NUMBER_LENGTH} цифр")


@rule("406")
def single_format_number(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is not None and policy.vpolis in SINGLE_FORMAT and not _is_digits(policy.npolis, ENP_LENGTH):
        yield Finding(f"NPOLIS «{policy.npolis}» при VPOLIS={policy.vpolis}: нужен ЕНП из {ENP_LENGTH} цифр")


@rule("407")
def single_format_number_is_enp(ctx: RuleContext) -> Iterator[Finding]:
    policy, enp = ctx.policy, ctx.record.insurance.enp
    if (
        policy is not None
        and policy.vpolis in SINGLE_FORMAT
        and enp
        and _is_digits(policy.npolis, ENP_LENGTH)
        and policy.npolis != enp
    ):
        yield Finding(f"NPOLIS «{policy.npolis}», ENP «{enp}»")


@rule("408")
def old_style_series_and_number(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is not None and policy.vpolis == PolicyType.OLD_STYLE and not (policy.spolis and policy.npolis):
        yield Finding(
            f"SPOLIS «{policy.spolis or ''}», NPOLIS «{policy.npolis}»",
            field="NPOLIS" if policy.spolis else "SPOLIS",
        )


@rule("409")
def policy_start_not_in_future(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    latest = plus(ctx.today, POLICY_START_LEAD)
    if policy is not None and policy.dbeg > latest:
        yield Finding(f"DBEG {fmt_date(policy.dbeg)}, допускается не позже {fmt_date(latest)}")


@rule("410")
def policy_start_not_before_birth(ctx: RuleContext) -> Iterator[Finding]:
    policy, dr = ctx.policy, ctx.record.person.dr
    if policy is not None and policy.dbeg < dr:
        yield Finding(f"DBEG {fmt_date(policy.dbeg)} раньше DR {fmt_date(dr)}")


@rule("411")
def vs_term(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is None or policy.vpolis != PolicyType.VS or policy.dend is None:
        return
    latest = ctx.ref.working_days_after(policy.dbeg, VS_WORKING_DAYS)
    if policy.dend > latest:
        yield Finding(
            f"DEND {fmt_date(policy.dend)}, DBEG {fmt_date(policy.dbeg)} + {VS_WORKING_DAYS} "
            f"рабочих дней = {fmt_date(latest)}"
        )


@rule("412")
def policy_end_after_start(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is not None and policy.dend is not None and policy.dend < policy.dbeg:
        yield Finding(f"DEND {fmt_date(policy.dend)} раньше DBEG {fmt_date(policy.dbeg)}")


@rule("413")
def vs_end_present(ctx: RuleContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy is not None and policy.vpolis == PolicyType.VS and policy.dend is None:
        latest = ctx.ref.working_days_after(policy.dbeg, VS_WORKING_DAYS)
        yield Finding(f"ВС без DEND; срок по {fmt_date(latest)}")


@rule("414")
def attachment_mo_in_f003(ctx: RuleContext) -> Iterator[Finding]:
    mo = ctx.record.extra.get("MO")
    if mo and ctx.ref.mo(mo, ctx.event_date) is None:
        yield Finding(f"МО «{mo}» (F003 на {fmt_date(ctx.event_date)})")


@rule("415")
def visit_not_in_future(ctx: RuleContext) -> Iterator[Finding]:
    visit = ctx.record.visit
    if visit is not None and visit.dvizit > ctx.today:
        yield Finding(f"DVIZIT {fmt_date(visit.dvizit)} позже текущей даты {fmt_date(ctx.today)}")


@rule("416")
def rsmo_range(ctx: RuleContext) -> Iterator[Finding]:
    rsmo = ctx.record.visit.rsmo if ctx.record.visit is not None else None
    if rsmo is not None and rsmo not in RSMO_VALUES:
        yield Finding(f"RSMO={rsmo}, допустимо 1–4")


@rule("417")
def rpolis_range(ctx: RuleContext) -> Iterator[Finding]:
    rpolis = ctx.record.visit.rpolis if ctx.record.visit is not None else None
    if rpolis is not None and rpolis not in RPOLIS_VALUES:
        yield Finding(f"RPOLIS={rpolis}, допустимо 1–6")


@rule("418")
def method_range(ctx: RuleContext) -> Iterator[Finding]:
    visit = ctx.record.visit
    if visit is not None and visit.method not in METHODS:
        yield Finding(f"METHOD={visit.method}, допустимо 1–4")


@rule("419")
def rsmo_fits_operation(ctx: RuleContext) -> Iterator[Finding]:
    visit = ctx.record.visit
    if ctx.op is None or ctx.op not in RSMO_BY_OPERATION or visit is None:
        return  # a missing VIZIT is 422
    expected, rsmo = RSMO_BY_OPERATION[ctx.op], visit.rsmo
    if rsmo != expected:
        shown = "не указан" if rsmo is None else str(rsmo)
        yield Finding(f"операция {ctx.op.value}: RSMO {shown}, ожидается {expected}")


@rule("420")
def ogrn_matches_f002(ctx: RuleContext) -> Iterator[Finding]:
    ogrn = ctx.record.insurance.ogrnsmo
    smo = ctx.ref.smo(ctx.submitter, ctx.event_date)
    if ogrn and smo is not None and smo.ogrn and ogrn != smo.ogrn:
        yield Finding(f"OGRNSMO «{ogrn}», в F002 у СМО «{smo.code}» — «{smo.ogrn}»")


@rule("421")
def smo_of_the_region(ctx: RuleContext) -> Iterator[Finding]:
    smo = ctx.ref.smo(ctx.submitter, ctx.event_date)
    if smo is not None and smo.okato and smo.okato != ctx.ref.region_okato:
        yield Finding(
            f"СМО «{smo.code}» работает на территории «{smo.okato}», регион «{ctx.ref.region_okato}»"
        )


@rule("422")
def visit_present(ctx: RuleContext) -> Iterator[Finding]:
    """Only de-registrations and changes of data may come without the person's application."""
    if ctx.record.visit is None and ctx.op is not None and ctx.op not in VISIT_OPTIONAL:
        yield Finding(f"операция {ctx.op.value} без VIZIT")


@rule("423")
def change_by_wish_by_1_november(ctx: RuleContext) -> Iterator[Finding]:
    """326-ФЗ art. 16 part 1 item 3: a change of СМО by wish once a calendar year, no later than 1 November.

    The date is the application's (DVIZIT): the law counts the day the person applies to the new СМО.
    """
    visit = ctx.record.visit
    if ctx.op not in BY_WISH or visit is None:
        return
    deadline = date(visit.dvizit.year, *CHANGE_BY_WISH_DEADLINE)
    if visit.dvizit > deadline:
        yield Finding(
            f"операция {ctx.record.op}: заявление {fmt_date(visit.dvizit)}, "
            f"замена СМО по желанию — не позднее {fmt_date(deadline)}"
        )
