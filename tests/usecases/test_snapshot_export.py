"""Snapshot exports: the FFOMS-style XML and the attachment-list CSV of a published snapshot, on a seeded
register — counts equal an independent SQL count, a rebuilt export is byte-identical, the manifest's
sha256 is the file's."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, text

from rserz_soap.config import Settings
from rserz_soap.db.uow import Database
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.files import output
from rserz_soap.usecases import snapshots

DAY = date.today().replace(day=1)

# who is insured on :d, written here independently of db/snapshots.py: a current period covering the day
# of a person alive, not suspended or merged on the day
INDEPENDENT = """
SELECT DISTINCT p.main_enp FROM person p
JOIN insurance_period i ON i.person_id = p.id AND i.superseded_at IS NULL
JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL AND d.valid_to IS NULL
WHERE i.dbeg <= :d AND (i.dstop IS NULL OR i.dstop > :d) AND (i.dend IS NULL OR i.dend >= :d)
  AND (d.ddeath IS NULL OR d.ddeath > :d) AND d.status NOT IN ('suspended', 'merged')
"""


def independent_counts(engine: Engine) -> dict[str, dict[str, int]]:
    """The counts by СМО, МО, sex and age band, from the register with Python doing the grouping."""
    out: dict[str, dict[str, int]] = {"smo": {}, "mo": {}, "sex": {}, "age": {}}

    def add(kind: str, key: str) -> None:
        out[kind][key] = out[kind].get(key, 0) + 1

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.main_enp, d.w, d.dr, (SELECT i.smo_code FROM insurance_period i WHERE i.person_id = p.id"
                " AND i.superseded_at IS NULL AND i.dbeg <= :d AND (i.dstop IS NULL OR i.dstop > :d)"
                " AND (i.dend IS NULL OR i.dend >= :d) ORDER BY i.dbeg DESC, i.id DESC LIMIT 1) AS smo,"
                " ARRAY(SELECT DISTINCT a.mo_code FROM attachment a WHERE a.person_id = p.id"
                " AND a.superseded_at IS NULL AND a.date_in <= :d AND (a.date_out IS NULL OR a.date_out > :d)) AS mos"
                f" FROM person p JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL"
                f" AND d.valid_to IS NULL WHERE p.main_enp IN ({INDEPENDENT})"
            ),
            {"d": DAY},
        )
        for r in rows:
            years = DAY.year - r.dr.year - ((DAY.month, DAY.day) < (r.dr.month, r.dr.day))
            band = "0" if years < 1 else "1-17" if years < 18 else "18-64" if years < 65 else "65+"
            add("smo", r.smo)
            add("sex", str(r.w))
            add("age", band)
            for mo in r.mos:
                add("mo", mo)
    return out


@pytest.fixture
def seeded(fresh_engine: Engine, settings: Settings) -> Engine:
    seed_region(fresh_engine, region_reference_from_files(settings, DAY), 300, 5, progress=False, workers=0)
    return fresh_engine


def test_exports_match_the_register_and_rebuild_byte_identical(seeded: Engine, tmp_path: Path) -> None:
    db = Database(seeded)
    info = snapshots.publish(db.unit_of_work(), DAY, actor="test")
    with seeded.connect() as conn:
        expected = set(conn.execute(text(INDEPENDENT), {"d": DAY}).scalars())
    assert info.persons == len(expected) > 200
    assert info.counts == independent_counts(seeded)

    seen: list[int] = []
    xml = snapshots.export(db, DAY, "xml", tmp_path, okato="45000", on_rows=seen.append)
    assert xml.written and xml.path.name == f"SNAP_T45000_{DAY:%Y%m%d}.xml" and sum(seen) == info.persons
    root = etree.parse(str(xml.path)).getroot()
    assert root.tag == "ZL_LIST" and root.findtext("ZGLV/NRECORDS") == str(info.persons)
    assert root.findtext("ZGLV/DATA") == DAY.isoformat()
    assert root.findtext("ZGLV/SNAPSHOT_SHA256") == info.checksum
    zaps = root.findall("ZAP")
    assert {z.findtext("ENP") for z in zaps} == expected
    assert [z.findtext("N_ZAP") for z in zaps] == [str(n) for n in range(1, len(zaps) + 1)]
    enps = [z.findtext("ENP") for z in zaps]
    assert enps == sorted(enps)  # ЕНП order

    csv_file = snapshots.export(db, DAY, "csv", tmp_path, okato="45000")
    raw = csv_file.path.read_bytes()
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "ENP",
        "FAM",
        "IM",
        "OT",
        "DR",
        "W",
        "SMO",
        "VPOLIS",
        "SPOLIS",
        "NPOLIS",
        "DBEG",
        "DEND",
        "MO",
    ]
    assert [r[0] for r in rows[1:]] == enps
    # the two formats say the same of every person
    by_enp = {z.findtext("ENP"): z for z in zaps}
    for r in rows[1:]:
        z = by_enp[r[0]]
        assert (r[1], r[6], r[9], r[12]) == (
            z.findtext("PERSON/FAM"),
            z.findtext("INSURANCE/SMO"),
            z.findtext("INSURANCE/POLIS/NPOLIS"),
            " ".join(m.text for m in z.findall("MO")),
        )

    # manifests: the files' own sha256 and size, and the snapshot they are of
    for done in (xml, csv_file):
        manifest = json.loads(done.manifest.read_text(encoding="utf-8"))
        assert manifest["sha256"] == output.sha256_of(done.path) == done.sha256
        assert manifest["bytes"] == done.path.stat().st_size
        assert manifest["snapshot_sha256"] == info.checksum and manifest["persons"] == info.persons

    # a re-run keeps an intact export; a forced rebuild (elsewhere) gives the same bytes and manifest
    assert not snapshots.export(db, DAY, "xml", tmp_path, okato="45000").written
    again = tmp_path / "again"
    for done in (xml, csv_file):
        fmt = done.path.suffix.lstrip(".")
        rebuilt = snapshots.export(db, DAY, fmt, again, okato="45000", force=True)
        assert rebuilt.path.read_bytes() == done.path.read_bytes()
        assert rebuilt.manifest.read_bytes() == done.manifest.read_bytes()

    # both formats in one pass over the rows: the same bytes as one by one
    both = snapshots.export_all(db, DAY, ("xml", "csv"), tmp_path / "both", okato="45000")
    assert [b.path.read_bytes() for b in both] == [xml.path.read_bytes(), csv_file.path.read_bytes()]

    # a damaged file is noticed and written again (and only that one)
    xml.path.write_bytes(xml.path.read_bytes()[:-10])
    again_xml, kept_csv = snapshots.export_all(db, DAY, ("xml", "csv"), tmp_path, okato="45000")
    assert again_xml.written and not kept_csv.written
    assert output.sha256_of(xml.path) == xml.sha256


def test_an_unpublished_date_exports_nothing(fresh_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="no snapshot"):
        snapshots.export(Database(fresh_engine), date(2020, 1, 1), "xml", tmp_path, okato="45000")
    assert list(tmp_path.iterdir()) == []


# values no intake lets through today but a register of older data may hold: each must come out of both
# formats as it is stored (the row's slow path: XML escaping, CSV quoting, COPY's backslash escapes)
AWKWARD = {
    "fam": ["Д'Артаньян & <Сыновья>", 'Семи;колонов "Младший"', "Обратная\\Черта", "Таб\tуляция"],
    "im": ["Анна>", "Ли;", 'Ян"', "\\N"],
}


def test_values_that_need_escaping_or_quoting_survive_both_formats(seeded: Engine, tmp_path: Path) -> None:
    with seeded.begin() as conn:
        ids = list(
            conn.execute(
                text(
                    f"SELECT d.id FROM person_data d JOIN person p ON p.id = d.person_id JOIN ({INDEPENDENT}) x"
                    " ON x.main_enp = p.main_enp WHERE d.superseded_at IS NULL AND d.valid_to IS NULL"
                    " ORDER BY d.id LIMIT 4"
                ),
                {"d": DAY},
            ).scalars()
        )
        for n, pid in enumerate(ids):
            conn.execute(
                text("UPDATE person_data SET fam = :f, im = :i WHERE id = :id"),
                {"f": AWKWARD["fam"][n], "i": AWKWARD["im"][n], "id": pid},
            )
        stored = {
            r.main_enp: (r.fam, r.im)
            for r in conn.execute(
                text("SELECT p.main_enp, d.fam, d.im FROM person_data d JOIN person p ON p.id = d.person_id"
                     " WHERE d.id = ANY(:ids)"),
                {"ids": ids},
            )
        }  # fmt: skip
    assert len(stored) == 4
    db = Database(seeded)
    snapshots.publish(db.unit_of_work(), DAY, actor="test")
    xml, csv_file = snapshots.export_all(db, DAY, ("xml", "csv"), tmp_path, okato="45000")
    zaps = {z.findtext("ENP"): z for z in etree.parse(str(xml.path)).getroot().findall("ZAP")}
    rows = {r[0]: r for r in csv.reader(io.StringIO(csv_text(csv_file.path)), delimiter=";")}
    for enp, (fam, im) in stored.items():
        assert (zaps[enp].findtext("PERSON/FAM"), zaps[enp].findtext("PERSON/IM")) == (fam, im)
        assert (rows[enp][1], rows[enp][2]) == (fam, im) and len(rows[enp]) == 13


def csv_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")
