"""Form input turned into the use cases' values: search keys and card field values, with messages."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

from rserz_soap.domain.person import Document, PersonData
from rserz_soap.usecases.identify import BadKey, Key


class FormError(ValueError):
    pass


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def text(form: Any, name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def parse_date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{what}: дата в виде ГГГГ-ММ-ДД") from None


def search_key(form: Any) -> tuple[str, Key | None, dict[str, Any]]:
    """The key group, the identification key (None: a search by a part of the name) and the values."""
    v: dict[str, Any] = {
        "enp": digits(form.get("enp", "")) or None,
        "npolis": text(form, "npolis"),
        "spolis": text(form, "spolis"),
        "docnum": text(form, "docnum"),
        "docser": text(form, "docser"),
        "ss": digits(form.get("ss", "")) or None,
        "fam": text(form, "fam"),
        "im": text(form, "im"),
        "ot": text(form, "ot"),
        "dr": parse_date(text(form, "dr"), "Дата рождения"),
    }
    doctype = text(form, "doctype")
    v["doctype"] = int(doctype) if doctype and doctype.isdigit() else None
    if v["docnum"] is None:
        v["doctype"] = None  # the type alone (a select with a default) is no key
    if v["enp"] is not None and len(v["enp"]) != 16:
        raise FormError("ЕНП — 16 цифр")
    if v["ss"] is not None and len(v["ss"]) != 11:
        raise FormError("СНИЛС — 11 цифр")
    key = Key(
        enp=v["enp"],
        npolis=v["npolis"],
        spolis=v["spolis"] if v["npolis"] else None,
        doctype=v["doctype"],
        docser=v["docser"] if v["docnum"] else None,
        docnum=v["docnum"],
        ss=v["ss"],
        fam=v["fam"],
        im=v["im"] if v["fam"] else None,
        ot=v["ot"] if v["fam"] else None,
        dr=v["dr"] if (v["ss"] or v["fam"]) else None,
    )
    if (
        v["fam"]
        and not v["ss"]
        and not v["enp"]
        and not v["npolis"]
        and not v["docnum"]
        and (v["im"] is None or v["dr"] is None)
    ):
        return "NAME", None, v  # a part of a name: the remote search, typos tolerated
    try:
        return key.group(), key, v
    except BadKey:
        raise FormError(
            "Укажите один ключ: ЕНП, полис, документ (тип и номер), СНИЛС с датой рождения или ФИО (с датой рождения"
            " для идентификации, без неё — поиск по части имени)."
        ) from None


_INT_FIELDS = {"w", "kateg"}
_DATE_FIELDS = {"dr"}
SCALAR_FIELDS = tuple(f.name for f in dataclasses.fields(PersonData))


def field_value(name: str, form: Any) -> Any:
    """The typed value of card field ``name`` as the manual change's form gives it."""
    if name == "document":
        doctype = text(form, "doctype")
        docnum = text(form, "docnum")
        if not doctype or not doctype.isdigit() or not docnum:
            raise FormError("документ: нужны тип и номер")
        return Document(
            int(doctype),
            text(form, "docser"),
            docnum,
            docdate=parse_date(text(form, "docdate"), "Дата выдачи"),
            name_vp=text(form, "name_vp"),
        )
    if name not in SCALAR_FIELDS:
        raise FormError(f"поле {name} нельзя изменить вручную")
    raw = text(form, "value")
    if name in ("fam", "im", "w", "dr", "kateg") and raw is None:
        raise FormError("значение не может быть пустым")
    if raw is None:
        return None
    if name in _INT_FIELDS:
        if not raw.isdigit():
            raise FormError("значение — целое число")
        value = int(raw)
        if name == "w" and value not in (1, 2):
            raise FormError("пол: 1 мужской, 2 женский")
        return value
    if name in _DATE_FIELDS:
        day = parse_date(raw, "Дата")
        if day is not None and day > date.today():
            raise FormError("дата рождения не может быть в будущем")
        return day
    if name == "ss":
        ss = digits(raw)
        if len(ss) != 11:
            raise FormError("СНИЛС — 11 цифр")
        return ss
    return raw
