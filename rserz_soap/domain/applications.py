"""What an СМО's R001 operation becomes federally: one table (ФОМС's description v5.07 §3.3.1, §3.6).

Since 2022-12-01 the register does not issue policies: the territorial fund passes the person's
application to ФЕРЗЛ (``submitPolicyApplication``: ``appObject`` 1 choice/change of СМО, 2 reissue,
3 surrender; ``appCause`` per §3.3.1's cases) and stores the policy ФЕРЗЛ forms (``createdPcy``). Changes
of data that need no new policy reach ФЕРЗЛ as objects (``registerDudl``/``registerSnils``/
``registerAddress``, §3.6). What ФЕРЗЛ learns from elsewhere (deaths from ЗАГС, merges of duplicates) is
not sent at all: it comes back as events (§5) and the register applies them (``usecases/federal_events``).

``Route.kind``:

* ``application`` — ``submitPolicyApplication`` with ``app_object``/``app_cause`` (None = from the record's
  RSMO, see :func:`app_cause`);
* ``objects`` — ``registerDudl``/``registerSnils``/``registerAddress`` for what the record changes;
* ``local`` — applied in the register only (ФЕРЗЛ's own events say the same: a death, a merge, …);
* ``extract`` — nothing changes: a lost or worn policy is replaced by an extract from the register
  (``rserz extract``), never by a new number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rserz_soap.domain.records import Op

__all__ = ["APPLICATION_METHODS", "ROUTES", "Route", "app_cause", "route_of"]

APPLICATION = "application"
OBJECTS = "objects"
LOCAL = "local"
EXTRACT = "extract"


@dataclass(frozen=True)
class Route:
    kind: str
    app_object: int | None = None  # 1 choice/change of СМО, 2 reissue, 3 surrender/loss
    app_cause: int | None = None  # §3.3.1; None with app_object 1 = the record's RSMO
    case: str = ""  # §3.3.1 «Таблица с отдельными кейсами»
    why: str = ""


#: R001 → what reaches ФЕРЗЛ. П010 of a person the register already knows (a restoration) is decided
#: by :func:`route_of`, which also needs the card.
ROUTES: Final[Mapping[Op, Route]] = {
    Op.P010: Route(APPLICATION, 1, 1, "1, 11", "first choice of СМО: ФЕРЗЛ forms the ЕНП and the policy"),
    Op.P021: Route(LOCAL, why="the person is registered elsewhere: ФЕРЗЛ closed the policy itself (ЗСМО)"),
    Op.P022: Route(LOCAL, why="a death reaches ФЕРЗЛ from ЗАГС; its ФСМ event confirms it (vital)"),
    Op.P023: Route(LOCAL, why="duplicates are merged by ФЕРЗЛ (СДУБЛ); no method for a ТФОМС"),
    Op.P024: Route(LOCAL, why="an ЕНП error is corrected by ФЕРЗЛ (ИСПРОШ); no method for a ТФОМС"),
    Op.P025: Route(APPLICATION, 3, None, "8", "surrender of the policy, e.g. contract military service"),
    Op.P031: Route(APPLICATION, 1, 2, "4, 14", "yearly right to change the СМО"),
    Op.P032: Route(APPLICATION, 1, 3, "4, 14", "change of СМО on a change of residence"),
    Op.P033: Route(APPLICATION, 1, 4, "4, 14", "change of СМО: the СМО's contract ended"),
    Op.P034: Route(APPLICATION, 1, 2, "4, 14", "as П031: the policy is formed by ФЕРЗЛ, never by the СМО"),
    Op.P035: Route(APPLICATION, 1, 3, "4, 14", "as П032"),
    Op.P036: Route(APPLICATION, 1, 4, "4, 14", "as П033"),
    Op.P040: Route(
        OBJECTS, why="document, СНИЛС, address changed: registerDudl/registerSnils/registerAddress"
    ),
    Op.P060: Route(
        APPLICATION, 2, 4, "9", "a ВС (or old policy) converted to the new format, data unchanged"
    ),
    Op.P061: Route(
        APPLICATION, 2, 1, "6, 16", "changed name, sex or birth date; a new ЕНП if sex or birth date"
    ),
    Op.P062: Route(EXTRACT, why="a duplicate of a policy is an extract from the register (Правила ОМС 789н)"),
    Op.P063: Route(APPLICATION, 2, 4, "18", "the policy's term ended (a foreigner's permit extended)"),
}

#: appMethod (§3.3.1, the XSD's enum 1, 2, 3, 5) from VIZIT/METHOD 1 in person, 2 representative,
#: 3 ТФОМС site, 4 ЕПГУ: the XSD does not allow 4, so an ЕПГУ application is sent as the site's (3).
APPLICATION_METHODS: Final[Mapping[int, int]] = {1: 1, 2: 2, 3: 3, 4: 3}


def app_cause(route: Route, rsmo: int | None) -> int | None:
    """The application's cause: the route's, or for a change of СМО without one the record's RSMO."""
    if route.app_cause is not None:
        return route.app_cause
    if route.app_object == 1:
        return rsmo if rsmo in (2, 3, 4) else 2
    return None


def route_of(op: Op, *, known: bool, same_smo: bool, rsmo: int | None) -> Route:
    """The route of an operation; a П010 of a person the register knows (not insured now) is a restoration:
    2/3 with the same СМО (cases 2, 12), else 1 with the record's RSMO (cases 3, 13)."""
    route = ROUTES[op]
    if op is Op.P010 and known:
        if same_smo:
            return Route(APPLICATION, 2, 3, "2, 12", "restoration, unchanged")
        return Route(APPLICATION, 1, rsmo if rsmo in (2, 3, 4) else 2, "3, 13", "restoration with a new СМО")
    return route
