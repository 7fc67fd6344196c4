"""The fast half of the XSS proof: the corpus, planted in every user-writable text, comes out of every
page, fragment and export as text, never as an element, attribute or URL that could run.
(The real-browser half, with the real CSP: tests/e2e/test_xss_browser.py.)"""

import io
import re
from urllib.parse import quote

import pytest
import tinyhtml5

from app.placeholders import fill
from app.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, ALLOWED_URL_SCHEMES, render_markdown
from tests.conftest import Auth
from tests.security.hostile import HOSTILE_PASSWORD, bad_url, check_html, plant
from tests.security.xss_payloads import PAYLOADS, TEMPLATE_PRODUCT, packed

CATEGORIES = {p.category for p in PAYLOADS}


def test_the_corpus_covers_the_owasp_categories_with_over_150_payloads():
    assert len(PAYLOADS) >= 150
    assert len(CATEGORIES) >= 14
    assert len({p.text for p in PAYLOADS}) == len(PAYLOADS)


@pytest.mark.parametrize("limit", [30, 50, 100, 200, 500, 2000])
def test_packing_puts_every_payload_that_fits_into_one_text_within_the_limit(limit):
    # The names, titles and notes planted below carry the corpus in packed texts: one lost is a payload unchecked.
    fitting = [t for t in (" ".join(p.text.split()) for p in PAYLOADS) if len(t) <= limit]
    groups = packed(limit)
    assert all(len(group) <= limit for group in groups)
    assert sum(len(group) for group in groups) == sum(len(t) for t in fitting) + len(fitting) - len(groups)
    assert all(sum(text in group for group in groups) >= 1 for text in fitting)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{p.n}-{p.category}")
def test_rendered_markdown_holds_only_allowed_tags_attributes_and_schemes(payload):
    html = fill(render_markdown(payload.text), {"总分": "<b>98</b>"})
    root = tinyhtml5.parse(f"<div>{html}</div>")
    body = root.find(".//{http://www.w3.org/1999/xhtml}div")
    for element in body.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if element is body or (tag == "span" and element.get("class", "").startswith("ph ph-")):
            continue  # the wrapper, and a filled placeholder (our own markup)
        assert tag in ALLOWED_TAGS, tag
        for name, value in element.attrib.items():
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name)
            if name in ("href", "src"):
                scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", value)
                assert scheme is None or scheme.group(1).lower() in ALLOWED_URL_SCHEMES, value
                assert not bad_url(value)
            if name == "style":
                assert re.fullmatch(r"text-align: ?(left|right|center);?", value), value
    assert "<b>98</b>" not in html  # placeholder values are escaped
    assert str(TEMPLATE_PRODUCT * payload.n) not in html


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, template_database):
    """An app over the template database with the corpus planted everywhere, and an admin client."""
    import shutil

    from app import create_app
    from app import db as database

    path = tmp_path_factory.mktemp("hostile") / "hostile.sqlite"
    shutil.copyfile(template_database[0], path)
    db = database.connect(str(path))
    planted = plant(db)
    db.conn.close()
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "hostile",
                      "LOGIN_FAILURES_PER_ADDRESS": 10_000, "SHARE_MISSES_PER_ADDRESS": 10_000})
    admin = Auth(app.test_client())
    assert admin.login("admin").status_code == 303
    return app, planted, admin


def test_every_page_that_shows_planted_text_shows_it_as_text(hostile):
    app, planted, admin = hostile
    problems, seen = [], 0
    for page in planted.pages():
        response = admin.client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        problems += check_html(response.text, page)
        seen += 1
    assert seen > 100 and not problems, "\n".join(problems[:40])


def test_the_payloads_really_are_on_those_pages(hostile):
    """A guard on the guard: the sweep looks at pages that do carry the corpus, escaped."""
    app, planted, admin = hostile
    report = admin.client.get(f"/reports/{planted.report}").text
    assert report.count("__xss(") > 2 * len(PAYLOADS)
    assert "&lt;script&gt;__xss(1)&lt;/script&gt;" in report
    units = admin.client.get("/admin/units").text
    assert "&lt;svg onload=__xss(" in units


def test_fragments_after_edits_show_the_corpus_as_text(hostile):
    app, planted, admin = hostile
    r, batch = planted.report, planted.batch_section
    everything = "\n\n".join(p.text for p in PAYLOADS)
    version = lambda: int(re.search(rf'id="section-{batch}"[^>]*data-version="(\d+)"',  # noqa: E731
                                    admin.get(f"/reports/{r}").text).group(1))
    answers = {
        "section fragment": admin.get(f"/reports/{r}/sections/{batch}", htmx=True),
        "edit fragment": admin.get(f"/reports/{r}/sections/{batch}/edit", htmx=True),
        "preview": admin.post(f"/reports/{r}/preview", {"markdown": everything}),
        "saved fragment": admin.post(f"/reports/{r}/sections/{batch}",
                                     {"markdown": everything + "\n\n再存一次", "version": str(version()),
                                      "title": PAYLOADS[0].text}),
        "conflict view": admin.post(f"/reports/{r}/sections/{batch}",
                                    {"markdown": everything[::-1], "version": "1", "title": "冲突"}),
        "comment fragment": admin.post(f"/reports/{r}/comments", {"body": everything[:5000],
                                                                  "section_id": str(batch)}),
        "import preview": admin.client.post("/reports/import", data={
            "csrf_token": admin.token, "year": "2030", "unit_id": str(planted.unit), "format": "markdown",
            "file": (io.BytesIO(("# " + PAYLOADS[0].text + "\n\n一、" + PAYLOADS[1].text + "\n\n" + everything)
                                .encode()), "'><img src=x onerror=__xss(0)>.md")}),
    }
    indicator = re.search(r'id="ind-(\d+)"', answers["section fragment"].text or admin.get(f"/reports/{r}").text)
    page = admin.get(f"/reports/{r}").text
    for row in re.findall(r'id="ind-(\d+)"', page)[-3:]:
        answers[f"indicator {row} edit"] = admin.get(f"/reports/{r}/form/indicators/{row}/edit", htmx=True)
    for part in ("header", "goals"):
        answers[f"{part} edit"] = admin.get(f"/reports/{r}/form/{part}/edit", htmx=True)
    assert indicator is None or indicator  # the page has indicator rows to open
    problems = []
    for name, response in answers.items():
        assert response.status_code in (200, 409), (name, response.status_code, response.text[:300])
        problems += check_html(response.text, name)
    assert not problems, "\n".join(problems[:40])


def test_users_with_hostile_names_see_their_name_as_text(hostile):
    app, planted, _ = hostile
    problems = []
    for username in planted.users:
        auth = Auth(app.test_client())
        assert auth.login(username, HOSTILE_PASSWORD).status_code == 303
        problems += check_html(auth.get("/").text, f"home of {username}")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: str(p.n))
def test_query_parameters_are_reflected_as_text(hostile, payload):
    app, planted, admin = hostile
    value = quote(payload.text[:100])
    problems = []
    for url in (f"/search?q={value}", f"/?year={value}&unit={value}&status={value}&sort={value}",
                f"/admin/audit?action={value}&user={value}&report={value}&date_from={value}",
                f"/reports/{planted.report}/sections/{planted.names_section}/history?a={value}&b={value}",
                f"/reports/{planted.report}/form/indicators/new?after={value}"):
        response = admin.client.get(url, headers={"HX-Request": "true"} if "/form/" in url else {})
        assert response.status_code < 500, url
        problems += check_html(response.text, url)
    login = app.test_client().get(f"/login?next={value}")
    problems += check_html(login.text, "login next")
    assert not problems, "\n".join(problems)
