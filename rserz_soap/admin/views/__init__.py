"""The console's pages, one blueprint per area; each view calls use cases and renders a template."""

from __future__ import annotations

from flask import Flask

from rserz_soap.admin.views import (
    auth,
    buffer,
    dashboard,
    jobs,
    journals,
    persons,
    reconcile,
    reference,
    users,
)


def register(app: Flask) -> None:
    for module in (auth, dashboard, persons, buffer, reconcile, journals, jobs, reference, users):
        app.register_blueprint(module.bp)
