"""Share links: shown once, stored hashed, counted, expiring, revocable, and all failures alike."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from app import clock, shares
from app.reports import InvalidInput
from app.users import get_user
from app.workflow import perform
from tests.conftest import csrf_from


def approve(db, report_id):
    """Take the report through to an approved edition."""
    for action in ("submit", "pass", "approve"):
        perform(db, report_id, get_user(db, 1), action)


def make_link(auth, report_id, **fields) -> str:
    """Create a link through the page and return its token, read from the one-time display."""
    page = auth.get(f"/reports/{report_id}/shares")
    data = {"csrf_token": csrf_from(page.text), "expires": "7", "note": "发送给区财政局", **fields}
    response = auth.client.post(f"/reports/{report_id}/shares", data=data)
    assert response.status_code == 200, response.text
    return re.search(r"/s/([A-Za-z0-9_-]{32})", response.text).group(1)


def test_link_to_an_edition_is_shown_once_and_stored_only_hashed(auth, app, db, client):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    auth.login("editor")
    token = make_link(auth, rid)
    assert token not in auth.get(f"/reports/{rid}/shares").text
    stored = db.execute("SELECT token_hash FROM shares").fetchone()[0]
    assert stored == shares.token_hash(token) and token not in stored
    assert len(token) * 6 >= 128
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'share.create'").fetchone()[0] == 1


def test_anyone_with_the_link_reads_the_edition_without_login(app, db):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    token = shares.create_share(db, {"id": rid, "unit_id": 1}, get_user(db, 2), "", "", "Asia/Shanghai")
    anonymous = app.test_client()
    page = anonymous.get(f"/s/{token}")
    assert page.status_code == 200
    assert "绩效自评情况" in page.text and "定稿版本第 1 版" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.headers["X-Robots-Tag"]
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers
    links = re.findall(r'href="([^"]+)"', page.text)
    assert links and all(link.startswith(("/s/", "/static/")) for link in links)
    assert anonymous.get(f"/s/{token}/print").status_code == 200
    pdf = anonymous.get(f"/s/{token}/export.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    app.extensions["share_views"].flush()  # as the writer thread does within seconds
    row = db.execute("SELECT view_count, last_view_at FROM shares").fetchone()
    assert row[0] == 1 and row[1]


def test_views_are_counted_and_listed(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    auth.login("reviewer")
    token = make_link(auth, rid)
    reader = app.test_client()
    for _ in range(3):
        reader.get(f"/s/{token}")
    listing = auth.get(f"/reports/{rid}/shares").text
    assert "<td>3</td>" in listing and "发送给区财政局" in listing and "reviewer姓名" in listing


def test_revoked_expired_unknown_and_malformed_links_get_the_same_404(app, db, monkeypatch):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    editor = get_user(db, 2)
    report = {"id": rid, "unit_id": 1}
    revoked = shares.create_share(db, report, editor, "", "", "Asia/Shanghai")
    shares.revoke_share(db, report, editor, 1)
    expired = shares.create_share(db, report, editor, "1", "", "Asia/Shanghai")
    db.execute("UPDATE shares SET expires_at = ? WHERE id = 2", ("2000-01-01T00:00:00.000000+00:00",))
    client = app.test_client()
    bodies = set()
    for path in [f"/s/{revoked}", f"/s/{expired}", "/s/" + "A" * 32, "/s/short", "/s/%00%0d", "/s/a/b",
                 f"/s/{revoked}/print", f"/s/{expired}/export.pdf"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["Referrer-Policy"] == "no-referrer"
        bodies.add(response.text)
    assert len(bodies) == 1 and "链接无效" in bodies.pop()
    assert db.execute("SELECT sum(view_count) FROM shares").fetchone()[0] == 0


def test_expiry_boundary_is_exclusive(app, db, monkeypatch):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    token = shares.create_share(db, {"id": rid, "unit_id": 1}, get_user(db, 2), "1", "", "Asia/Shanghai")
    expires_at = db.execute("SELECT expires_at FROM shares").fetchone()[0]
    just_before = (clock.parse(expires_at) - timedelta(microseconds=1)).isoformat(timespec="microseconds")
    monkeypatch.setattr(clock, "now", lambda: just_before)
    assert shares.open_share(db, token) is not None
    monkeypatch.setattr(clock, "now", lambda: expires_at)
    assert shares.open_share(db, token) is None


def test_expiry_from_days_or_a_date_through_that_day_office_time():
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert shares.parse_expiry("", "Asia/Shanghai", now) is None
    assert shares.parse_expiry("7", "Asia/Shanghai", now).startswith("2025-03-08T08:00")
    # 2025-03-10 ends at midnight Beijing time, 16:00 UTC.
    assert shares.parse_expiry("2025-03-10", "Asia/Shanghai", now).startswith("2025-03-10T16:00")
    for bad in ["0", "abc", "2025-02-30", "2025-02-01", "99999"]:
        with pytest.raises(InvalidInput):
            shares.parse_expiry(bad, "Asia/Shanghai", now)


def test_a_draft_is_shared_only_by_explicit_choice_and_says_so(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    page = auth.get(f"/reports/{rid}/shares")
    refused = auth.client.post(f"/reports/{rid}/shares", data={"csrf_token": csrf_from(page.text),
                                                               "expires": "7", "note": ""})
    assert refused.status_code == 422 and "尚未定稿" in refused.text
    assert db.execute("SELECT count(*) FROM shares").fetchone()[0] == 0
    token = make_link(auth, rid, draft="1")
    shared = app.test_client()
    assert "草稿" in shared.get(f"/s/{token}").text
    assert 'class="status-mark"' in shared.get(f"/s/{token}/print").text


def test_revoking_through_the_page_and_viewers_cannot_share(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    auth.login("editor")
    token = make_link(auth, rid)
    page = auth.get(f"/reports/{rid}/shares")
    share_id = db.execute("SELECT id FROM shares").fetchone()[0]
    auth.client.post(f"/reports/{rid}/shares/{share_id}/revoke", data={"csrf_token": csrf_from(page.text)})
    assert app.test_client().get(f"/s/{token}").status_code == 404
    assert "已撤销" in auth.get(f"/reports/{rid}/shares").text
    viewer = app.test_client()
    from tests.conftest import Auth

    as_viewer = Auth(viewer)
    as_viewer.login("viewer")
    assert as_viewer.post(f"/reports/{rid}/shares", {"expires": ""}).status_code == 403
    outsider = Auth(app.test_client())
    outsider.login("outsider")
    assert outsider.get(f"/reports/{rid}/shares").status_code == 403


def test_views_are_counted_in_memory_and_written_in_one_batch(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    token = shares.create_share(db, {"id": rid, "unit_id": 1}, get_user(db, 2), "", "", "Asia/Shanghai")
    auth.login("reviewer")  # a logged-in colleague opening the link: the share page reads no session
    for _ in range(3):
        page = auth.client.get(f"/s/{token}")
        assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert db.execute("SELECT view_count FROM shares").fetchone()[0] == 0  # no write per view
    app.extensions["share_views"].flush()  # what the writer thread does every SHARE_VIEWS_SECONDS
    assert db.execute("SELECT view_count FROM shares").fetchone()[0] == 3
    assert "<td>3</td>" in auth.get(f"/reports/{rid}/shares").text


def test_an_editions_share_page_is_made_once_and_each_link_names_its_own_token(app, db):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    editor = get_user(db, 2)
    first, second = (shares.create_share(db, {"id": rid, "unit_id": 1}, editor, "", "", "Asia/Shanghai")
                     for _ in range(2))
    client = app.test_client()
    pages = [client.get(f"/s/{token}").text for token in (first, second, first)]
    assert pages[0] == pages[2] and f"/s/{first}/print" in pages[0] and f"/s/{second}/print" in pages[1]
    shares.revoke_share(db, {"id": rid, "unit_id": 1}, editor, 1)  # a kept page never outlives its link
    assert client.get(f"/s/{first}").status_code == 404


def test_a_kept_share_page_is_answered_before_flask_with_the_same_bytes_and_headers(app, db, monkeypatch):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    token = shares.create_share(db, {"id": rid, "unit_id": 1}, get_user(db, 2), "", "", "Asia/Shanghai")
    client = app.test_client()
    first = client.get(f"/s/{token}")  # made by the view, then kept
    made = []
    view = app.view_functions["shares.view"]
    monkeypatch.setitem(app.view_functions, "shares.view", lambda **kw: made.append(1) or view(**kw))
    again = client.get(f"/s/{token}")
    assert made == []  # answered from memory, no Flask request
    assert again.status_code == 200 and again.data == first.data

    def without_id(response) -> list:
        return sorted((name, value) for name, value in response.headers.items() if name != "X-Request-ID")

    assert without_id(again) == without_id(first)
    assert re.fullmatch(r"[0-9a-f]{12}", again.headers["X-Request-ID"])
    app.extensions["share_views"].flush()
    assert db.execute("SELECT view_count FROM shares").fetchone()[0] == 2  # both views counted


def test_the_kept_share_page_still_checks_the_link_the_address_and_the_prefix(app, db, monkeypatch):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    editor = get_user(db, 2)
    token = shares.create_share(db, {"id": rid, "unit_id": 1}, editor, "", "", "Asia/Shanghai")
    client = app.test_client()
    assert client.get(f"/s/{token}").status_code == 200
    # Under a proxy prefix the page's links differ: made for that prefix, not served from the other.
    prefixed = client.get(f"/s/{token}", environ_overrides={"SCRIPT_NAME": "/jixiao"})
    assert prefixed.status_code == 200 and "/jixiao/s/" in prefixed.text and '"/s/' not in prefixed.text
    # An address held back for guessing waits even for a good, kept link.
    for _ in range(app.config["SHARE_MISSES_PER_ADDRESS"]):
        client.get("/s/" + "x" * 32)
    assert client.get(f"/s/{token}").status_code == 429
    assert app.test_client().get(f"/s/{token}", environ_overrides={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    shares.revoke_share(db, {"id": rid, "unit_id": 1}, editor, 1)
    assert app.test_client().get(f"/s/{token}", environ_overrides={"REMOTE_ADDR": "10.0.0.9"}).status_code == 404
