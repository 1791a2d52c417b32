from __future__ import annotations

from tests.admin.conftest import ConsoleStand


def test_every_page_renders_for_a_role_that_may_see_it(stand: ConsoleStand, as_role) -> None:
    op = as_role("operator")
    p = stand.persons[0]
    for path in (
        "/admin/",
        "/admin/search",
        f"/admin/persons/{p.person_id}",
        f"/admin/persons/{p.person_id}/change",
        f"/admin/persons/{p.person_id}/duplicates",
        "/admin/buffer/",
        f"/admin/buffer/{stand.held[0]}",
        "/admin/reconcile/",
        "/admin/jobs/",
        "/admin/snapshots",
        "/admin/nsi",
    ):
        r = op.get(path)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:3000])
    adm = as_role("administrator")
    for path in (
        "/admin/",
        "/admin/users/",
        "/admin/users/matrix",
        "/admin/users/settings",
        "/admin/participants",
        "/admin/journal",
        "/admin/security",
        "/admin/jobs/",
        f"/admin/users/{stand.users['viewer']}",
    ):
        r = adm.get(path)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:3000])
