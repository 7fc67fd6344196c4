"""Every response carries the security headers: each route of app.url_map (as the admin and as nobody),
every kind of error, share pages and rate-limit answers. (The real server's banner: tests/e2e/test_xss_browser.py.)"""

import shutil

import pytest

from app import create_app
from tests.conftest import Auth
from tests.security.authz_table import ROUTES, expected
from tests.security.matrix import call


def csp(response) -> dict[str, set[str]]:
    """The Content-Security-Policy as directive → sources."""
    policy = {}
    for directive in response.headers.get("Content-Security-Policy", "").split(";"):
        name, *sources = directive.split()
        policy[name] = set(sources)
    return policy


def assert_safe_headers(response, where: str) -> None:
    """The headers the site promises on every answer."""
    policy = csp(response)
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts == {"'self'"}, (where, scripts)
    assert policy["default-src"] == {"'self'"}, where
    assert policy["object-src"] == {"'none'"} and policy["base-uri"] == {"'none'"}, where
    assert policy["frame-ancestors"] == {"'none'"} and policy["form-action"] == {"'self'"}, where
    assert not any("unsafe" in source for sources in policy.values() for source in sources), where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), where
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert "Server" not in response.headers and "X-Powered-By" not in response.headers, where
    if not where.startswith("GET /static/"):
        assert "no-store" in response.headers.get("Cache-Control", ""), where


@pytest.mark.parametrize("principal", ["admin", "anonymous", "other_unit"])
def test_every_route_answers_with_the_security_headers(principal, worlds, monkeypatch):
    monkeypatch.setattr("app.printing.PdfPress.typeset", lambda self, html, stylesheet: b"%PDF-1.7 stub")
    world = worlds("approved")
    for key in sorted(ROUTES):
        _, response = call(world, key, principal, expected(key, principal, "approved"))
        assert_safe_headers(response, f"{key} as {principal} ({response.status_code})")


@pytest.mark.parametrize("token", ["valid", "expired", "malformed"])
def test_share_pages_are_never_cached_indexed_or_referred(token, worlds, monkeypatch):
    monkeypatch.setattr("app.printing.PdfPress.typeset", lambda self, html, stylesheet: b"%PDF-1.7 stub")
    world = worlds("approved")
    for path in ("/s/{}", "/s/{}/print", "/s/{}/export.pdf", "/s/{}/no-such-page"):
        response = world.client("anonymous").client.get(path.format(world.ids["tokens"][token]))
        assert_safe_headers(response, path)
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
        assert response.headers["Cache-Control"] == "no-store"


def test_errors_of_every_kind_carry_the_headers(app, auth):
    client = app.test_client()
    answers = {
        "404 page": client.get("/no/such/page"),
        "405 method": client.delete("/login"),
        "400 csrf": client.post("/login", data={"username": "x", "password": "y"}),
        "403 cross-site": client.post("/login", headers={"Origin": "https://evil.example"}),
        "401 htmx login": client.get("/", headers={"HX-Request": "true"}),
        "413 too large": client.post("/login", data="x=" + "a" * (4 * 1024 * 1024),
                                     content_type="application/x-www-form-urlencoded"),
        "400 bad bytes": client.post("/login", data=b"username=%ff%fe",
                                     content_type="application/x-www-form-urlencoded"),
    }
    auth.login("viewer")
    answers["403 forbidden"] = auth.get("/admin/users")
    answers["404 report"] = auth.get("/reports/999999")
    auth.login("editor")
    answers["422 input"] = auth.post("/reports", {"unit_id": "x", "year": "2024"}, htmx=False)
    for name, response in answers.items():
        assert response.status_code == int(name[:3]), (name, response.status_code)
        assert_safe_headers(response, name)


def test_a_server_fault_carries_the_headers_and_no_trace(tmp_path, template_database):
    path = tmp_path / "boom.sqlite"
    shutil.copyfile(template_database[0], path)
    app = create_app({"TESTING": False, "DATABASE": str(path), "SECRET_KEY": "x"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    auth = Auth(client)
    auth.login("admin")
    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert_safe_headers(response, "500")


def test_rate_limit_answers_carry_the_headers(app):
    client = app.test_client()
    responses = [client.get(f"/s/{'B' * 31}{i}") for i in range(25)]
    assert responses[-1].status_code == 429
    assert_safe_headers(responses[-1], "429 share")
    assert responses[-1].headers["Retry-After"].isdigit()
