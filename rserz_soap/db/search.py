"""Identification queries: which persons match a key. Each runs on a partial index over current rows.

They return person ids only; callers load cards. ``valid_to IS NULL`` restricts a query to facts true now;
without it (``include_history``) a query also finds a person by an old document or name, which is what
identification "as of a date" and duplicate search need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, CursorResult, text

from rserz_soap.db.engine import statement
from rserz_soap.db.persons import find_by_enp


def _now(include_history: bool, alias: str) -> str:
    """Restrict to facts true now, and always to persons that were not merged into another one.

    A merged duplicate keeps its documents and СНИЛС as a frozen record; its keys resolve through the
    survivor (ЕНП aliases), so identification must not offer the duplicate itself.
    """
    live = f" AND NOT EXISTS (SELECT 1 FROM person m WHERE m.id = {alias}.person_id AND m.merged_into IS NOT NULL)"
    return live + ("" if include_history else f" AND {alias}.valid_to IS NULL")


def name_key(fam: str, im: str, ot: str | None) -> str:
    """The normalised full name, as the generated column ``person_data.name_key`` computes it."""
    full = f"{fam} {im}" + (f" {ot}" if ot is not None else "")
    return full.lower().replace("ё", "е")


@dataclass(frozen=True)
class FuzzyMatch:
    person_id: int
    similarity: float


@dataclass(frozen=True)
class Lookup:
    """One search as SQL that selects ``person_id``, so that several go to the database in one statement
    (:meth:`Search.any_of`); its parameters carry the tag it was built with, so lookups do not clash."""

    sql: str
    params: dict[str, object]
    settings: tuple[tuple[str, str], ...] = ()  # pg_trgm thresholds its operator needs, set before it runs


@dataclass(frozen=True)
class Owners:
    """Who holds each identifier now: ЕНП (main or alias), СНИЛС, documents by :attr:`Document.key`."""

    enp: dict[str, int]
    snils: dict[str, set[int]]
    documents: dict[tuple[int, str, str], set[int]]


class Search:
    """Which persons match a key, in one transaction. Each query runs on a partial index over current rows."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def by_enp(self, enp: str) -> list[int]:
        found = find_by_enp(self._conn, enp)
        return [found] if found is not None else []

    def by_policy(self, npolis: str, spolis: str | None = None) -> list[int]:
        sql = "SELECT DISTINCT person_id FROM insurance_period i WHERE superseded_at IS NULL AND npolis = :n"
        params: dict[str, object] = {"n": npolis}
        if spolis:
            sql += " AND spolis = :s"
            params["s"] = spolis
        return list(self._conn.execute(statement(sql + _now(True, "i") + " ORDER BY 1"), params).scalars())

    def policy_and_snils_owners(
        self, policies: Sequence[tuple[str, str | None]], snils: Sequence[tuple[str, date]]
    ) -> tuple[dict[tuple[str, str | None], list[int]], dict[tuple[str, date], list[int]]]:
        """:meth:`by_policy` for each (number, series) and :meth:`by_snils` for each (СНИЛС, birth date),
        in one round trip: the same conditions, the same answers (ids in order), for many keys at once."""
        by_policy: dict[tuple[str, str | None], set[int]] = {key: set() for key in policies}
        by_snils: dict[tuple[str, date], set[int]] = {key: set() for key in snils}
        if policies or snils:
            sql = (
                "SELECT 'p' AS k, npolis AS a, spolis AS b, CAST(NULL AS date) AS dr, person_id"
                " FROM insurance_period i WHERE superseded_at IS NULL AND npolis = ANY(:pols)"
                + _now(True, "i")
                + " UNION ALL SELECT 's', ss, NULL, dr, person_id FROM person_data d"
                " WHERE superseded_at IS NULL AND ss = ANY(:sss)" + _now(False, "d")
            )
            params = {"pols": sorted({n for n, _s in policies}), "sss": sorted({ss for ss, _dr in snils})}
            policy_keys: dict[str, list[tuple[str, str | None]]] = {}
            for n, series in policies:
                policy_keys.setdefault(n, []).append((n, series))
            for kind, a, b, dr, pid in self._conn.execute(statement(sql), params):
                if kind == "p":
                    for key in policy_keys.get(a, ()):
                        if not key[1] or key[1] == b:  # a series is compared only when given
                            by_policy[key].add(pid)
                elif (a, dr) in by_snils:
                    by_snils[(a, dr)].add(pid)
        return (
            {key: sorted(found) for key, found in by_policy.items()},
            {key: sorted(found) for key, found in by_snils.items()},
        )

    def by_document(
        self, doctype: int, docser: str | None, docnum: str, *, include_history: bool = False
    ) -> list[int]:
        return self._ids(self.document_lookup(doctype, docser, docnum, include_history=include_history))

    def document_lookup(
        self, doctype: int, docser: str | None, docnum: str, *, include_history: bool = False, tag: str = ""
    ) -> Lookup:
        """:meth:`by_document` as a :class:`Lookup`."""
        sql = (
            f"SELECT DISTINCT person_id FROM identity_document d WHERE superseded_at IS NULL AND docnum = :n{tag}"
            f" AND doctype = :t{tag} AND coalesce(replace(docser, ' ', ''), '') = :s{tag}"
            + _now(include_history, "d")
        )
        params: dict[str, object] = {
            f"n{tag}": docnum.replace(" ", ""),
            f"t{tag}": doctype,
            f"s{tag}": (docser or "").replace(" ", "").upper(),
        }
        return Lookup(sql + " ORDER BY 1", params)

    def by_snils(self, ss: str, dr: date | None = None, *, include_history: bool = False) -> list[int]:
        return self._ids(self.snils_lookup(ss, dr, include_history=include_history))

    def snils_lookup(
        self, ss: str, dr: date | None = None, *, include_history: bool = False, tag: str = ""
    ) -> Lookup:
        """:meth:`by_snils` as a :class:`Lookup`."""
        sql = f"SELECT DISTINCT person_id FROM person_data d WHERE superseded_at IS NULL AND ss = :ss{tag}"
        params: dict[str, object] = {f"ss{tag}": ss}
        if dr is not None:
            sql += f" AND dr = :dr{tag}"
            params[f"dr{tag}"] = dr
        return Lookup(sql + _now(include_history, "d") + " ORDER BY 1", params)

    def any_of(self, lookups: Sequence[Lookup]) -> set[int]:
        """The persons any of ``lookups`` finds (the union of their answers), in one statement."""
        if not lookups:
            return set()
        params: dict[str, object] = {}
        for lookup in lookups:
            for name, value in lookup.settings:
                self._set(name, value)
            clash = params.keys() & lookup.params.keys()
            if clash:
                raise ValueError(f"lookups share the parameters {sorted(clash)}: tag them apart")
            params.update(lookup.params)
        sql = " UNION ".join(f"SELECT person_id FROM ({q.sql}) AS q{i}" for i, q in enumerate(lookups))
        return set(self._conn.execute(statement(sql), params).scalars())

    def _ids(self, lookup: Lookup) -> list[int]:
        return list(self._rows(lookup).scalars())

    def _rows(self, lookup: Lookup) -> CursorResult[Any]:
        """The rows of one lookup, its pg_trgm settings made first."""
        for name, value in lookup.settings:
            self._set(name, value)
        return self._conn.execute(statement(lookup.sql), lookup.params)

    def _set(self, name: str, value: str) -> None:
        self._conn.execute(statement(f"SELECT set_config('pg_trgm.{name}', :t, true)"), {"t": value})

    def insured(self, limit: int) -> list[int]:
        """The first ``limit`` persons (by id) insured now: the demo's "whom can I ask about"."""
        sql = (
            "SELECT DISTINCT person_id FROM insurance_period i WHERE superseded_at IS NULL AND dstop IS NULL"
            + _now(True, "i")
            + " ORDER BY 1 LIMIT :n"
        )
        return list(self._conn.execute(text(sql), {"n": limit}).scalars())

    def by_name(
        self, fam: str, im: str, ot: str | None, dr: date, *, include_history: bool = False
    ) -> list[int]:
        sql = (
            "SELECT DISTINCT person_id FROM person_data d WHERE superseded_at IS NULL AND dr = :dr"
            " AND name_key = :k" + _now(include_history, "d") + " ORDER BY 1"
        )
        return list(self._conn.execute(text(sql), {"dr": dr, "k": name_key(fam, im, ot)}).scalars())

    def fuzzy_by_name(
        self,
        fam: str,
        im: str | None,
        ot: str | None,
        *,
        dr: date | None = None,
        dr_from: date | None = None,
        dr_to: date | None = None,
        threshold: float = 0.45,
        limit: int = 50,
        include_history: bool = False,
        partial: bool = False,
        w: int | None = None,
        prefix: bool = False,
    ) -> list[FuzzyMatch]:
        """Persons whose name is similar (trigrams; tolerates typos), best first.

        With a birth date the date's index narrows the rows and similarity ranks them; without one the
        trigram GIN index finds candidates by the ``%`` operator. ``partial`` matches the given parts as words
        of the full name (``word_similarity``, operator ``<%``): "Иванов" or "Иванов Пётр" find the Ивановы.
        """
        lookup = self.name_lookup(
            fam,
            im,
            ot,
            dr=dr,
            dr_from=dr_from,
            dr_to=dr_to,
            threshold=threshold,
            limit=limit,
            include_history=include_history,
            partial=partial,
            w=w,
            prefix=prefix,
        )
        return [FuzzyMatch(r.person_id, float(r.sim)) for r in self._rows(lookup)]

    def name_lookup(
        self,
        fam: str,
        im: str | None,
        ot: str | None,
        *,
        dr: date | None = None,
        dr_from: date | None = None,
        dr_to: date | None = None,
        threshold: float = 0.45,
        limit: int = 50,
        include_history: bool = False,
        partial: bool = False,
        w: int | None = None,
        prefix: bool = False,
        tag: str = "",
    ) -> Lookup:
        """:meth:`fuzzy_by_name` as a :class:`Lookup` (its rows also carry ``sim``)."""
        k, t = f":k{tag}", f":t{tag}"
        if prefix:  # the name begins with the given parts (EXACT is a prefix of the whole name)
            key = " ".join(p for p in (fam, im, ot) if p).lower().replace("ё", "е")
            measure, operator, setting = "1.0", f"name_key LIKE {k} || '%'", None
            threshold = 0.0
        elif partial:
            key = " ".join(p for p in (fam, im, ot) if p).lower().replace("ё", "е")
            measure, operator, setting = (
                f"word_similarity({k}, name_key)",
                f"{k} <% name_key",
                "word_similarity_threshold",
            )
        else:
            key = name_key(fam, im or "", ot)
            measure, operator, setting = (
                f"similarity(name_key, {k})",
                f"name_key % {k}",
                "similarity_threshold",
            )
        if prefix and dr is not None:
            operator = f"name_key LIKE {k} || '%'"
        params: dict[str, object] = {f"k{tag}": key, f"t{tag}": threshold, f"lim{tag}": limit}
        where = ["superseded_at IS NULL", f"{measure} >= {t}"]
        settings: tuple[tuple[str, str], ...] = ()
        if w is not None:
            where.append(f"w = :w{tag}")
            params[f"w{tag}"] = w
        if dr is not None:
            where.append(f"dr = :dr{tag}")
            params[f"dr{tag}"] = dr
        else:
            where.append(operator)
            if dr_from is not None:
                where.append(f"dr >= :dr_from{tag}")
                params[f"dr_from{tag}"] = dr_from
            if dr_to is not None:
                where.append(f"dr <= :dr_to{tag}")
                params[f"dr_to{tag}"] = dr_to
            if setting is not None:  # the operator's own threshold must not be stricter than ours
                settings = ((setting, str(threshold)),)
        sql = (
            f"SELECT person_id, max({measure}) AS sim FROM person_data d WHERE "
            + " AND ".join(where)
            + _now(include_history, "d")
            + f" GROUP BY person_id ORDER BY sim DESC, person_id LIMIT :lim{tag}"
        )
        return Lookup(sql, params, settings)

    def owners(self, *, enps: list[str], snils: list[str], documents: list[tuple[int, str, str]]) -> Owners:
        """All owners a record's uniqueness checks ask about, in one round trip.

        The same conditions as :func:`by_enp`, :func:`by_snils` and :func:`by_document` (current facts, no
        merged persons), for many keys at once.
        """
        sql = (
            "SELECT 'e' AS k, enp AS key, person_id FROM enp_alias WHERE enp = ANY(:enps)"
            " UNION ALL SELECT 's', ss, person_id FROM person_data d WHERE superseded_at IS NULL AND ss = ANY(:sss)"
            + _now(False, "d")
            + " UNION ALL SELECT 'd', doctype || '|' || coalesce(replace(docser, ' ', ''), '') || '|' || docnum, person_id"
            " FROM identity_document d WHERE superseded_at IS NULL AND docnum = ANY(:nums)" + _now(False, "d")
        )
        params = {"enps": enps, "sss": snils, "nums": [n for _t, _s, n in documents]}
        out = Owners({}, {}, {})
        wanted = {f"{t}|{s}|{n}": (t, s, n) for t, s, n in documents}
        for kind, key, pid in self._conn.execute(text(sql), params):
            if kind == "e":
                out.enp[key] = pid
            elif kind == "s":
                out.snils.setdefault(key, set()).add(pid)
            elif key.upper() in wanted:  # the number matched; type and series must too
                out.documents.setdefault(wanted[key.upper()], set()).add(pid)
        return out
