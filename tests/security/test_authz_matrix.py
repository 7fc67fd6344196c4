"""Every route × method × principal × report state answers as tests/security/authz_table.py says;
refused requests change nothing; a route missing from the table fails."""

import re

import pytest

from app import create_app
from tests.security.authz_table import (
    PRINCIPALS,
    ROUTES,
    SHARE_ROUTES,
    SHARE_TOKENS,
    STATES,
    TRANSITIONS,
    expected,
)
from tests.security.matrix import call


def route_keys() -> set[str]:
    """"METHOD rule" for every rule of the app, one key per choice of an any() converter."""
    app = create_app({"TESTING": True, "DATABASE": ":memory:", "SECRET_KEY": "x"})
    keys = set()
    for rule in app.url_map.iter_rules():
        choices = re.search(r"<any\(([^)]*)\):[a-z_]+>", rule.rule)
        paths = ([rule.rule.replace(choices.group(0), value.strip()) for value in choices.group(1).split(",")]
                 if choices else [rule.rule])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            keys.update(f"{method} {path}" for path in paths)
    return keys


def test_every_route_of_the_app_has_an_entry_in_the_table():
    keys = route_keys()
    assert keys - set(ROUTES) == set(), "routes without an entry in tests/security/authz_table.py"
    assert set(ROUTES) - keys == set(), "entries in the table for routes that no longer exist"


@pytest.fixture
def stub_pdf(monkeypatch):
    """PDFs are WeasyPrint's business and slow; the matrix only asks who may have one."""
    monkeypatch.setattr("app.printing.PdfPress.typeset", lambda self, html, stylesheet: b"%PDF-1.7 stub")


@pytest.mark.parametrize("key", sorted(ROUTES))
def test_route_answers_each_principal_in_each_state_as_the_table_says(key, worlds, stub_pdf):
    wrong = []
    for state in STATES:
        world = worlds(state)
        for principal in PRINCIPALS:
            want = expected(key, principal, state)
            got, response = call(world, key, principal, want)
            if got != want:
                wrong.append(f"{state:9} {principal:11} expected {want}, got {got} "
                             f"({response.status_code} {response.headers.get('Location', '')})")
    assert not wrong, f"{key}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("key", SHARE_ROUTES)
def test_share_links_answer_by_token_alone(key, worlds, stub_pdf):
    wrong = []
    for state in STATES:
        world = worlds(state)
        for token, want in SHARE_TOKENS.items():
            got, response = call(world, key, "anonymous", want, token)
            if got != want:
                wrong.append(f"{state} {token}: expected {want}, got {got}")
            if token == "other_report" and key == "GET /s/<token>":
                # Another report's link shows that report, never this one.
                assert world.ids["title"] not in response.text and "教育局" in response.text
    assert not wrong, "\n".join(wrong)


def test_every_refusal_of_a_share_link_is_the_same_page(worlds):
    world = worlds("draft")
    pages = set()
    for token in ("expired", "revoked", "unknown", "malformed"):
        response = world.client("anonymous").client.get(f"/s/{world.ids['tokens'][token]}")
        assert response.status_code == 404
        pages.add(response.text)
    assert len(pages) == 1


def test_a_share_token_opens_nothing_but_the_share_pages(worlds):
    world = worlds("approved")
    token = world.ids["tokens"]["valid"]
    client = world.client("anonymous").client
    for url in (f"/reports/{world.ids['report']}?token={token}", f"/reports/{world.ids['report']}/print",
                f"/s/{token}/../reports/{world.ids['report']}"):
        response = client.get(url, headers={"Authorization": f"Bearer {token}", "Cookie": f"token={token}"})
        assert response.status_code in (302, 404), url
        assert world.ids["title"] not in response.text


CHILD_IDS = ("{section}", "{comment}", "{share}", "{budget}", "{indicators}", "{revision}")


# Routes that name a row of the report (in the URL or the form). Workflow actions name sections only
# for a return, in its own state: they are in the test below this one.
NAMING_A_ROW = sorted(key for key, (_, req) in ROUTES.items()
                      if any(child in req.url + str(req.data) for child in CHILD_IDS)
                      and key.split("/")[-1] not in TRANSITIONS)


@pytest.mark.parametrize("key", NAMING_A_ROW)
def test_a_row_of_another_report_cannot_be_reached_through_this_reports_url(key, worlds, stub_pdf):
    """The admin may do anything to the report in a draft, but not to another report's section, comment,
    share, form row or revision named under this report's URL: 404 (409 "gone" for a save or delete
    of a row, 422 where the input is refused first), and nothing changes."""
    world = worlds("draft")
    world.use_base()
    req = ROUTES[key][1]
    ids = {**world.ids, **world.ids["foreign"], "token": world.ids["tokens"]["valid"]}
    db = world.connect()
    data = req.data(ids, db) if callable(req.data) else req.data
    db.conn.close()
    data = {name: value.format(**ids) if isinstance(value, str) else value for name, value in data.items()}
    auth = world.client("admin")
    if key.startswith("GET "):
        response = auth.client.get(req.url.format(**ids), headers={"HX-Request": "true"} if req.htmx else {})
    else:
        response = auth.post(req.url.format(**ids), data, htmx=req.htmx)
    watch = world.watch
    assert response.status_code in (404, 409, 422), (response.status_code, response.get_data(as_text=True)[:300])
    assert watch.unchanged()


def test_a_return_cannot_mark_sections_of_another_report(worlds):
    world = worlds("submitted")
    world.use_base()
    response = world.client("reviewer").post(f"/reports/{world.ids['report']}/return", {
        "reason": "请修改", "section_ids": str(world.ids["foreign"]["section"])})
    assert response.status_code == 404
    assert world.watch.unchanged()
