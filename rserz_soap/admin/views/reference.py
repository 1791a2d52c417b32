"""Published snapshots (list and CSV), НСИ versions, participants of the exchange and their certificates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from rserz_soap.admin.web import audit, deps, requires
from rserz_soap.domain.access import Event, Outcome, Permission
from rserz_soap.files import snapshot_export
from rserz_soap.usecases import nsi, participants, snapshots
from rserz_soap.usecases.participants import ParticipantError

bp = Blueprint("reference", __name__)

#: a certificate that ends sooner than this is shown as a warning
EXPIRY_WARNING = timedelta(days=30)


@bp.get("/snapshots")
@requires(Permission.SNAPSHOTS_VIEW)
def snapshots_index() -> str:
    return render_template("snapshots.html", published=snapshots.published(deps().reading()))


@bp.get("/snapshots/<day>.<fmt>")
@requires(Permission.SNAPSHOTS_DOWNLOAD)
def snapshot_file(day: str, fmt: str) -> Response:
    """The published snapshot as the same file `rserz snapshot export` writes (XML or CSV), streamed."""
    if fmt not in snapshot_export.FORMATS:
        abort(404)
    try:
        on = date.fromisoformat(day)
    except ValueError:
        abort(404)
    d = deps()
    try:
        info = snapshots.published_one(d.reading(), on)
    except LookupError:
        abort(404)
    okato = d.settings.region_okato
    audit(Event.EXPORTED, object_type="snapshot", object_id=on.isoformat(), format=fmt)
    response = Response(
        snapshots.export_chunks(d.uow(), info, fmt, okato=okato),
        mimetype="text/csv" if fmt == "csv" else "application/xml",
    )
    name = snapshot_export.file_name(okato, on, fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/nsi")
@requires(Permission.NSI_VIEW)
def nsi_index() -> str:
    versions = nsi.versions(deps().reading())
    return render_template(
        "nsi.html", versions=sorted(versions, key=lambda v: (v.directory, v.imported_at), reverse=False)
    )


@bp.get("/participants")
@requires(Permission.PARTICIPANTS_VIEW)
def participants_index() -> str:
    now = datetime.now(UTC)
    return render_template(
        "participants.html",
        listing=participants.listing(deps().reading()),
        now=now,
        soon=now + EXPIRY_WARNING,
    )


@bp.post("/participants/<int:participant_id>")
@requires(Permission.PARTICIPANTS_MANAGE)
def participant_flags(participant_id: int) -> WerkzeugResponse:
    active = request.form.get("active") == "1"
    log_bodies = request.form.get("log_bodies") == "1"
    uow = deps().uow()
    try:
        with uow:
            before = participants.set_flags(uow, participant_id, active=active, log_bodies=log_bodies)
            audit(
                Event.PARTICIPANT_CHANGED,
                object_type="participant",
                object_id=participant_id,
                uow=uow,
                before={"active": before.active, "log_bodies": before.log_bodies},
                after={"active": active, "log_bodies": log_bodies},
            )
    except ParticipantError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reference.participants_index"))
    flash("Настройки участника сохранены; шлюз SOAP применит их в течение минуты.", "info")
    return redirect(url_for("reference.participants_index") + f"#p{participant_id}")


@bp.post("/certificates/<int:certificate_id>/revoke")
@requires(Permission.CERTIFICATES_MANAGE)
def revoke(certificate_id: int) -> WerkzeugResponse:
    uow = deps().uow()
    try:
        with uow:
            pid = participants.revoke(uow, certificate_id)
            audit(
                Event.CERTIFICATE_REVOKED,
                object_type="certificate",
                object_id=certificate_id,
                uow=uow,
                participant=pid,
            )
    except ParticipantError as exc:
        audit(Event.CERTIFICATE_REVOKED, Outcome.FAILURE, object_type="certificate", object_id=certificate_id)
        flash(str(exc), "error")
        return redirect(url_for("reference.participants_index"))
    flash(
        "Сертификат отозван: подписанные им запросы отклоняются (в течение минуты на всех процессах).", "info"
    )
    return redirect(url_for("reference.participants_index") + f"#p{pid}")


@bp.post("/participants/<int:participant_id>/certificates")
@requires(Permission.CERTIFICATES_MANAGE)
def add_certificate(participant_id: int) -> WerkzeugResponse:
    upload = request.files.get("pem")
    pem = upload.read() if upload is not None else request.form.get("pem_text", "").encode()
    uow = deps().uow()
    try:
        if b"BEGIN CERTIFICATE" not in pem:
            raise ParticipantError("нужен сертификат в формате PEM")
        with uow:
            sha = participants.register_certificate(uow, participant_id, pem)
            audit(
                Event.CERTIFICATE_ADDED,
                object_type="participant",
                object_id=participant_id,
                uow=uow,
                sha256=sha,
            )
    except ParticipantError as exc:
        audit(Event.CERTIFICATE_ADDED, Outcome.FAILURE, object_type="participant", object_id=participant_id)
        flash(str(exc), "error")
        return redirect(url_for("reference.participants_index"))
    flash(f"Сертификат зарегистрирован: {sha[:16]}…", "info")
    return redirect(url_for("reference.participants_index") + f"#p{participant_id}")
