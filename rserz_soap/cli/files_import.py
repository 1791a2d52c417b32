"""`rserz files import`: a СМО's OPLIST package answered with REPLIST and FLK_P files."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import click

from rserz_soap.cli.main import Context, connected, group, pass_ctx
from rserz_soap.db.uow import Database
from rserz_soap.domain.buffer import ACCEPTED_CODE, BatchProtocol
from rserz_soap.files import oplist, replist
from rserz_soap.usecases import packages, submit
from rserz_soap.usecases.intake import Intake

files = group(
    "files", "Exchange files of the file era: OPLIST packages in, REPLIST/FLK_P (and daily lists) out."
)


@dataclass
class ImportReport:
    """What became of one package: refused whole (``code``) or its records decided, and the files written."""

    package: str
    code: str | None = None  # the F012 801–805 code when the package was refused whole
    reason: str | None = None
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    pending: int = 0
    written: list[Path] = field(default_factory=list)


def import_file(
    db: Database,
    intake: Intake,
    path: Path,
    *,
    smo: str | None = None,
    out: Path | None = None,
    today: date | None = None,
    limits: oplist.PackageLimits | None = None,
    wait: float = 0.0,
) -> ImportReport:
    """Read, check and apply one package; write its answer into ``out`` (default: beside the package),
    after waiting up to ``wait`` seconds for records held for review or ФЕРЗЛ to be decided."""
    out = out if out is not None else path.parent
    report = ImportReport(path.name)
    encoding = "UTF-8"
    flk_name = f"{replist.safe_name(path.stem)}.flk"
    answers = replist.safe_name(path.stem)
    try:
        if path.stat().st_size > (limits or oplist.PackageLimits()).max_package_bytes:
            raise oplist.PackageError(oplist.NOT_A_ZIP, "the package is too large")
        raw = path.read_bytes()
        try:
            name = oplist.package_name(path.name, smo)
            flk_name, answers = name.flk_p, name.stem
        except oplist.PackageError:
            pass  # read_package names the fault in its turn (801 comes before 802)
        package = oplist.read_package(raw, path.name, smo=smo, limits=limits)
        encoding = package.encoding
        submitter = packages.smo_submitter(db.reading(), package.name.smo)
        if submitter is None:
            raise oplist.PackageError(
                oplist.WRONG_NAME, f"СМО {package.name.smo} is not a registered participant"
            )
        countries = submit.country_codes(db.reading(), intake)
        records = package.records(countries, today or intake.today())
        outcome = packages.import_package(
            db.unit_of_work(),
            intake,
            submitter,
            records,
            name=package.name.stem,
            sha256=package.sha256,
            encoding=encoding,
            przcod=package.przcod,
            request_id=package.request_id,
        )
    except (oplist.PackageError, packages.AlreadyRegistered) as exc:
        report.code = exc.code
        report.reason = exc.reason if isinstance(exc, oplist.PackageError) else str(exc)
        line = replist.FlkLine(
            exc.code, _message(intake, exc.code, report.reason), field=getattr(exc, "field", None)
        )
        content = replist.flk_p_xml([line], file_name=flk_name, answers=answers, encoding=encoding)
        # a refusal never replaces an answer already there (the repeat of a package beside its first answer)
        report.written.append(replist.write_into(out, f"{flk_name}.xml", content, replace=False))
        return report
    protocol = outcome.protocol
    deadline = time.monotonic() + wait
    while protocol.pending and time.monotonic() < deadline:
        time.sleep(min(2.0, max(deadline - time.monotonic(), 0.0)))
        settled = packages.answer(db.reading(), submitter, package.name.stem)
        protocol = settled[1] if settled else protocol
    _fill(report, protocol)
    report.written += _write_answer(out, package.name, package.przcod, encoding, protocol)
    return report


def answer_file(db: Database, stem: str, *, smo: str | None = None, out: Path) -> ImportReport | None:
    """The REPLIST and FLK_P of a package imported before, written again as its batch stands now (None if
    this СМО imported no package of that name)."""
    name = oplist.package_name(f"{stem.removesuffix('.zip')}.zip", smo)
    submitter = packages.smo_submitter(db.reading(), name.smo)
    found = packages.answer(db.reading(), submitter, name.stem) if submitter else None
    if found is None:
        return None
    package, protocol = found
    report = ImportReport(f"{name.stem}.zip")
    _fill(report, protocol)
    report.written += _write_answer(out, name, package.przcod or name.point, package.encoding, protocol)
    return report


def _fill(report: ImportReport, protocol: BatchProtocol) -> None:
    report.records = len(protocol.lines)
    report.accepted = sum(1 for r in protocol.lines if r.code_erp == ACCEPTED_CODE)
    report.rejected = sum(1 for r in protocol.lines if r.final and r.code_erp != ACCEPTED_CODE)
    report.pending = protocol.pending


def _write_answer(
    out: Path, name: oplist.PackageName, przcod: str, encoding: str, protocol: BatchProtocol
) -> list[Path]:
    rep = replist.replist_xml(
        protocol, file_name=name.replist, smo=name.smo, przcod=przcod, encoding=encoding
    )
    flk = replist.flk_p_xml(
        replist.flk_lines(protocol), file_name=name.flk_p, answers=name.stem, encoding=encoding
    )
    return [
        replist.write_into(out, f"{name.replist}.xml", rep),
        replist.write_into(out, f"{name.flk_p}.xml", flk),
    ]


def _message(intake: Intake, code: str, reason: str | None) -> str:
    """The directory's text for the code (an operator may have reworded it) and the particular reason."""
    entry = intake.directory.get(code)
    text = entry.message if entry is not None else ""
    return f"{text}: {reason}" if text and reason else text or reason or code


@files.command("import")
@click.argument(
    "packages_",
    metavar="PACKAGE.zip",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
@click.option("--smo", help="the sending СМО (F002 code); default: the code in the package's name")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="where to write the REPLIST (p…) and FLK_P (f…) files; default: beside each package",
)
@click.option(
    "--wait",
    type=float,
    default=0.0,
    show_default=True,
    help="seconds to wait for records held for review or ФЕРЗЛ before writing REPLIST (see `rserz files answer`)",
)
@pass_ctx
def files_import(
    ctx: Context, packages_: tuple[Path, ...], smo: str | None, out: Path | None, wait: float
) -> None:
    """Import СМО OPLIST packages (i<СМО>_<пункт>_<ММГГ><номер>.zip, windows-1251 or UTF-8) through the
    same ФЛК and buffer as submitOperations; answer each with REPLIST and FLK_P files.

    A package refused whole gets an FLK_P with its F012 code (801 not a ZIP, 802 wrong name, 803 files
    missing, 804 wrong value, 805 already registered) and changes nothing. Exit status 1 if any was refused.
    """
    from rserz_soap.usecases.wiring import build_intake

    refused = 0
    with connected(ctx.settings) as (settings, _urls, engine):
        db = Database(engine)
        intake = build_intake(db.unit_of_work(), settings)
        for i, path in enumerate(packages_, start=1):
            click.echo(f"[{i}/{len(packages_)}] {path.name}: ", nl=False)
            report = import_file(db, intake, path, smo=smo, out=out, wait=wait)
            if report.code:
                refused += 1
                click.echo(f"refused, {report.code}: {report.reason}")
            else:
                click.echo(_outcome(report))
            for written in report.written:
                click.echo(f"    wrote {written}")
    sys.exit(1 if refused else 0)


def _outcome(report: ImportReport) -> str:
    return f"{report.records} records: {report.accepted} accepted, {report.rejected} rejected" + (
        f", {report.pending} waiting (review or ФЕРЗЛ: `rserz files answer` writes the final REPLIST later)"
        if report.pending
        else ""
    )


@files.command("answer")
@click.argument("package")
@click.option("--smo", help="the СМО that sent it (F002 code); default: the code in the package's name")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True)
@pass_ctx
def files_answer(ctx: Context, package: str, smo: str | None, out: Path) -> None:
    """Write the REPLIST and FLK_P of PACKAGE (imported before, e.g. i45001_01_122601) again, as its records
    stand now: records held for an operator or for ФЕРЗЛ when it was imported have their answer by now."""
    with connected(ctx.settings) as (_settings, _urls, engine):
        try:
            report = answer_file(Database(engine), package, smo=smo, out=out)
        except oplist.PackageError as exc:
            raise click.UsageError(exc.reason) from None
    if report is None:
        click.echo(f"no package {package} was imported", err=True)
        sys.exit(1)
    click.echo(f"{report.package}: {_outcome(report)}")
    for written in report.written:
        click.echo(f"    wrote {written}")
