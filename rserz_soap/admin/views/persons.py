"""Persons: search in the register and in ФЕРЗЛ side by side, the card with its history, manual changes,
pins, duplicates (merge and unmerge).

Personal data never travels in a URL: a search is a POST, a card is addressed by the internal id. Every view
of a card and every change is a line in the security log (the change's line in the change's transaction).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rserz_soap.admin import federal as federal_lookup
from rserz_soap.admin.forms import SCALAR_FIELDS, FormError, field_value, parse_date, search_key, text
from rserz_soap.admin.web import audit, deps, may, requires, who
from rserz_soap.db.buffer import EntryFilter
from rserz_soap.domain.access import Event, Outcome, Permission
from rserz_soap.usecases import duplicates, history, identify, manual, review, security_log
from rserz_soap.usecases.duplicates import MergeError
from rserz_soap.usecases.manual import ManualChangeError

bp = Blueprint("persons", __name__)

PERSON = "person"


@bp.get("/search")
@requires(Permission.PERSON_SEARCH)
def search() -> str:
    return render_template("search.html", form={}, federal_default=may(Permission.FEDERAL_SEARCH))


@bp.post("/search")
@requires(Permission.PERSON_SEARCH)
def search_run() -> str | tuple[str, int]:
    d = deps()
    form = request.form
    try:
        group, key, values = search_key(form)
        on = parse_date(text(form, "on"), "Состояние на дату")
    except FormError as exc:
        return render_template("search.html", form=form, error=str(exc)), 400
    cards: list[Any]
    excess = False
    total = None
    try:
        if key is None:
            found = identify.search_persons(
                d.reading(),
                values["fam"],
                values["im"],
                values["ot"],
                dr_from=values["dr"],
                dr_to=values["dr"],
                page_size=50,
                narrow=False,
            )
            cards, total = found.cards, found.total
        else:
            result = identify.identify(d.reading(), key, on=on, limit=50)
            cards, excess = result.cards, result.excess
            if (
                not cards and group == "FIO"
            ):  # no patronymic given, or a typo too far: the remote search's words
                found = identify.search_persons(
                    d.reading(),
                    values["fam"],
                    values["im"],
                    values["ot"],
                    dr_from=values["dr"],
                    dr_to=values["dr"],
                    narrow=False,
                )
                cards, total = found.cards, found.total
    except identify.SearchTooBroad:
        error = "Фамилия — хотя бы 2 буквы"
        return render_template("search.html", form=form, error=error), 400
    audit(Event.PERSON_SEARCHED, key=group, found=len(cards), on=on.isoformat() if on else None)
    federal = None
    asked_federal = form.get("federal") == "1"
    if asked_federal and group != "NAME":
        if may(Permission.FEDERAL_SEARCH):
            federal = federal_lookup.lookup(d.federal_register, federal_lookup.key_for(group, values), on)
            audit(
                Event.FEDERAL_SEARCHED,
                Outcome.SUCCESS if federal.error is None else Outcome.FAILURE,
                key=group,
                found=federal.person is not None,
            )
        else:
            audit(Event.FORBIDDEN, Outcome.DENIED, permission=Permission.FEDERAL_SEARCH.value)
    return render_template(
        "search.html",
        form=form,
        group=group,
        cards=cards,
        excess=excess,
        total=total,
        on=on,
        federal=federal,
        asked_federal=asked_federal,
        searched=True,
    )


def _person_page(person_id: int, *, comparison: Any = None, federal_error: str | None = None) -> str:
    d = deps()
    on = parse_date(request.args.get("on"), "Дата") if request.args.get("on") else None
    uow = d.reading()
    with uow:
        card = history.card(uow, person_id)
        if card is None:
            abort(404)
        as_of = history.state_as_of(uow, person_id, on) if on else None
        versions = list(reversed(history.history(uow, person_id)))
        pins = manual.pins(uow, person_id)
        known = manual.known_federal(uow, person_id)
        merges = duplicates.merges_of(uow, person_id)
        entries = (
            review.queue(uow, EntryFilter(person_id=person_id), limit=20)
            if may(Permission.BUFFER_VIEW)
            else []
        )
    audit(Event.PERSON_VIEWED, object_type=PERSON, object_id=person_id, on=on.isoformat() if on else None)
    return render_template(
        "person.html",
        card=card,
        on=on,
        as_of=as_of,
        versions=versions,
        pins=pins,
        known=known,
        merges=merges,
        entries=entries,
        comparison=comparison,
        federal_error=federal_error,
        today=date.today(),
    )


@bp.get("/persons/<int:person_id>")
@requires(Permission.PERSON_VIEW)
def card(person_id: int) -> str | tuple[str, int]:
    try:
        return _person_page(person_id)
    except FormError as exc:
        return render_template("error.html", code=400, title="Неверная дата", message=str(exc)), 400


@bp.post("/persons/<int:person_id>/federal")
@requires(Permission.PERSON_VIEW, Permission.FEDERAL_SEARCH)
def compare_federal(person_id: int) -> str:
    d = deps()
    current = history.card(d.reading(), person_id)
    if current is None or current.enp is None:
        abort(404)
    answer = federal_lookup.lookup(d.federal_register, {"enp": current.enp})
    comparison = None
    if answer.person is not None:
        comparison = federal_lookup.compare(d.uow(), person_id, current.enp, answer.person)
    audit(
        Event.FEDERAL_SEARCHED,
        Outcome.SUCCESS if answer.error is None else Outcome.FAILURE,
        object_type=PERSON,
        object_id=person_id,
        key="ENP",
        found=answer.person is not None,
    )
    error = answer.error or (None if answer.person else "В ФЕРЗЛ нет ЗЛ с этим ЕНП.")
    return _person_page(person_id, comparison=comparison, federal_error=error)


@bp.get("/persons/<int:person_id>/change")
@requires(Permission.PERSON_VIEW, Permission.PERSON_CHANGE)
def change_form(person_id: int) -> str:
    return _change_page(person_id)


def _change_page(person_id: int, *, error: str | None = None, form: Any = None) -> str:
    d = deps()
    uow = d.reading()
    with uow:
        card = history.card(uow, person_id)
        if card is None:
            abort(404)
        known = manual.known_federal(uow, person_id)
        pins = manual.pins(uow, person_id)
    audit(Event.PERSON_VIEWED, object_type=PERSON, object_id=person_id, page="change")
    return render_template(
        "person_change.html",
        card=card,
        known=known,
        pins={p.field: p for p in pins},
        fields=(*SCALAR_FIELDS, "document"),
        error=error,
        form=form or {},
    )


@bp.post("/persons/<int:person_id>/change")
@requires(Permission.PERSON_VIEW, Permission.PERSON_CHANGE)
def change(person_id: int) -> Response | tuple[str, int]:
    d = deps()
    form = request.form
    mode = form.get("mode")
    try:
        if mode == "federal":
            known = manual.known_federal(d.reading(), person_id)
            names = [n for n in form.getlist("fields") if n in known]
            reason = text(form, "reason")
            if not names:
                raise FormError("отметьте поля, которые взять из ФЕРЗЛ")
            if not reason:
                raise FormError("укажите основание изменения")
            values = {n: known[n].value for n in names}
            uow = d.uow()
            with uow:
                result = manual.apply_federal(
                    uow, person_id, values, actor=who().actor, reason=reason, respect_pins=False
                )
                audit(
                    Event.PERSON_CHANGED,
                    object_type=PERSON,
                    object_id=person_id,
                    uow=uow,
                    mode="federal",
                    fields=list(result.changed),
                    version_no=result.version_no,
                )
        elif mode == "deviation":
            name = form.get("field", "")
            justification = text(form, "justification")
            if not justification:
                raise FormError("умышленное отличие от ФЕРЗЛ требует обоснования")
            value = field_value(name, form)
            known = manual.known_federal(d.reading(), person_id)
            uow = d.uow()
            with uow:
                result = manual.set_deviation(
                    uow,
                    person_id,
                    {name: value},
                    # only a value ФЕРЗЛ is known to hold: an unknown one must not be remembered as "none"
                    federal={name: known[name].value} if name in known else {},
                    actor=who().actor,
                    justification=justification,
                )
                audit(
                    Event.PERSON_CHANGED,
                    object_type=PERSON,
                    object_id=person_id,
                    uow=uow,
                    mode="deviation",
                    fields=list(result.changed),
                    pinned=[name],
                    version_no=result.version_no,
                )
        else:
            raise FormError("неизвестный вид изменения")
    except (FormError, ManualChangeError, ValueError) as exc:
        audit(
            Event.PERSON_CHANGED,
            Outcome.FAILURE,
            object_type=PERSON,
            object_id=person_id,
            mode=mode,
            error=type(exc).__name__,
        )
        return _change_page(person_id, error=str(exc), form=form), 400
    if result.version_no is None:
        flash(
            "Значения уже такие: новая версия не нужна."
            + (" Поле закреплено." if mode == "deviation" else ""),
            "info",
        )
    else:
        flash(f"Изменение записано: версия {result.version_no} ({', '.join(result.changed)}).", "info")
    return redirect(url_for("persons.card", person_id=person_id) + "#history")


@bp.post("/persons/<int:person_id>/pins/<name>/release")
@requires(Permission.PERSON_CHANGE)
def release_pin(person_id: int, name: str) -> Response:
    uow = deps().uow()
    with uow:
        released = manual.release_pin(uow, person_id, name, actor=who().actor)
        audit(
            Event.PIN_RELEASED,
            object_type=PERSON,
            object_id=person_id,
            uow=uow,
            field=name,
            released=released,
        )
    flash(
        "Закрепление снято: ежедневная синхронизация с ФЕРЗЛ снова может изменить поле."
        if released
        else "Закрепления не было.",
        "info",
    )
    return redirect(url_for("persons.card", person_id=person_id))


@bp.get("/persons/<int:person_id>/duplicates")
@requires(Permission.PERSON_VIEW)
def candidates(person_id: int) -> str:
    d = deps()
    uow = d.reading()
    with uow:
        card = history.card(uow, person_id)
        if card is None:
            abort(404)
        found = duplicates.find_candidates(uow, card, limit=20)
        cards = {c.person_id: history.card(uow, c.person_id) for c in found}
    audit(
        Event.PERSON_VIEWED,
        object_type=PERSON,
        object_id=person_id,
        page="duplicates",
        candidates=[c.person_id for c in found],
    )
    return render_template("duplicates.html", card=card, found=found, cards=cards)


@bp.post("/persons/<int:person_id>/merge")
@requires(Permission.PERSON_MERGE)
def merge(person_id: int) -> Response:
    other = request.form.get("other", "")
    reason = text(request.form, "reason")
    if not other.isdigit() or not reason:
        flash("Для объединения нужны второе ЗЛ и основание.", "error")
        return redirect(url_for("persons.candidates", person_id=person_id))
    keep_this = request.form.get("keep") != "other"
    survivor, merged = (person_id, int(other)) if keep_this else (int(other), person_id)
    uow = deps().uow()
    try:
        with uow:
            result = duplicates.merge(uow, survivor, merged, actor=who().actor, reason=reason)
            audit(
                Event.PERSONS_MERGED,
                object_type=PERSON,
                object_id=survivor,
                uow=uow,
                survivor=survivor,
                merged=merged,
                merge_id=result.merge_id,
            )
    except MergeError as exc:
        audit(
            Event.PERSONS_MERGED,
            Outcome.FAILURE,
            object_type=PERSON,
            object_id=survivor,
            merged=merged,
            code=exc.code,
        )
        flash(f"Объединение отклонено: {exc.message}", "error")
        return redirect(url_for("persons.candidates", person_id=person_id))
    flash(f"ЗЛ {merged} объединено с ЗЛ {survivor} (объединение № {result.merge_id}).", "info")
    return redirect(url_for("persons.card", person_id=survivor))


@bp.post("/merges/<int:merge_id>/undo")
@requires(Permission.PERSON_MERGE)
def unmerge(merge_id: int) -> Response:
    back = request.form.get("person", "")
    reason = text(request.form, "reason")
    target = url_for("persons.card", person_id=int(back)) if back.isdigit() else url_for("persons.search")
    if not reason:
        flash("Для разъединения нужно основание.", "error")
        return redirect(target)
    uow = deps().uow()
    try:
        with uow:
            result = duplicates.unmerge(uow, merge_id, actor=who().actor, reason=reason)
            security_log.record(
                uow,
                who(),
                Event.MERGE_UNDONE,
                object_type="merge",
                object_id=merge_id,
                details={"restored_enps": len(result.restored_enps)},
            )
    except MergeError as exc:
        audit(Event.MERGE_UNDONE, Outcome.FAILURE, object_type="merge", object_id=merge_id, code=exc.code)
        flash(f"Разъединение отклонено: {exc.message}", "error")
        return redirect(target)
    flash(f"Объединение № {merge_id} отменено.", "info")
    return redirect(target)
