"""The ТФОМС console at ``/admin/``: a thin Flask app of server-rendered pages over the use cases.

Everything a page does is a call to a use case (``rserz_soap.usecases``); the console holds no SQL and no
rule of the register of its own. What it adds is access: named users and sessions, the permission matrix
(``domain/access.py``) on every view, CSRF tokens on every form, and a line in the security log for every
login, refusal, view of a person and change (``docs/console.md``).
"""

from rserz_soap.admin.app import ConsoleDeps, create_console

__all__ = ["ConsoleDeps", "create_console"]
