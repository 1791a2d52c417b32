"""Identification queries: which persons match a key. Each runs on a partial index over current rows.

They return person ids only; callers load cards. ``valid_to IS NULL`` restricts a query to facts true now;
without it (``include_history``) a query also finds a person by an old document or name, which is what
identification "as of a date" and duplicate search need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

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
        return list(self._conn.execute(text(sql + _now(True, "i") + " ORDER BY 1"), params).scalars())

    def by_document(
        self, doctype: int, docser: str | None, docnum: str, *, include_history: bool = False
    ) -> list[int]:
        sql = (
            "SELECT DISTINCT person_id FROM identity_document d WHERE superseded_at IS NULL AND docnum = :n"
            " AND doctype = :t AND coalesce(replace(docser, ' ', ''), '') = :s" + _now(include_history, "d")
        )
        params = {"n": docnum.replace(" ", ""), "t": doctype, "s": (docser or "").replace(" ", "").upper()}
        return list(self._conn.execute(text(sql + " ORDER BY 1"), params).scalars())

    def by_snils(self, ss: str, dr: date | None = None, *, include_history: bool = False) -> list[int]:
        sql = "SELECT DISTINCT person_id FROM person_data d WHERE superseded_at IS NULL AND ss = :ss"
        params: dict[str, object] = {"ss": ss}
        if dr is not None:
            sql += " AND dr = :dr"
            params["dr"] = dr
        return list(
            self._conn.execute(text(sql + _now(include_history, "d") + " ORDER BY 1"), params).scalars()
        )

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
        if prefix:  # the name begins with the given parts (EXACT is a prefix of the whole name)
            key = " ".join(p for p in (fam, im, ot) if p).lower().replace("ё", "е")
            measure, operator, setting = "1.0", "name_key LIKE :k || '%'", None
            threshold = 0.0
        elif partial:
            key = " ".join(p for p in (fam, im, ot) if p).lower().replace("ё", "е")
            measure, operator, setting = (
                "word_similarity(:k, name_key)",
                ":k <% name_key",
                "word_similarity_threshold",
            )
        else:
            key = name_key(fam, im or "", ot)
            measure, operator, setting = "similarity(name_key, :k)", "name_key % :k", "similarity_threshold"
        if prefix and dr is not None:
            operator = "name_key LIKE :k || '%'"
        params: dict[str, object] = {"k": key, "t": threshold, "lim": limit}
        where = ["superseded_at IS NULL", f"{measure} >= :t"]
        if w is not None:
            where.append("w = :w")
            params["w"] = w
        if dr is not None:
            where.append("dr = :dr")
            params["dr"] = dr
        else:
            where.append(operator)
            if dr_from is not None:
                where.append("dr >= :dr_from")
                params["dr_from"] = dr_from
            if dr_to is not None:
                where.append("dr <= :dr_to")
                params["dr_to"] = dr_to
            if setting is not None:  # the operator's own threshold must not be stricter than ours
                self._conn.execute(
                    text(f"SELECT set_config('pg_trgm.{setting}', :t, true)"), {"t": str(threshold)}
                )
        sql = (
            f"SELECT person_id, max({measure}) AS sim FROM person_data d WHERE "
            + " AND ".join(where)
            + _now(include_history, "d")
            + " GROUP BY person_id ORDER BY sim DESC, person_id LIMIT :lim"
        )
        return [FuzzyMatch(r.person_id, float(r.sim)) for r in self._conn.execute(text(sql), params)]

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
