"""Every route needs a login except an explicit few; a new route cannot slip in unguarded."""

import re

import pytest

from app import create_app

# Share links are public by design: their token is the credential (tests/test_shares.py).
PUBLIC = {"auth.login", "main.healthz", "static", "shares.view", "shares.print_page", "shares.pdf"}


def all_routes():
    """(endpoint, method, URL with sample arguments) for every rule of the app."""
    app = create_app({"TESTING": True, "DATABASE": ":memory:", "SECRET_KEY": "x"})
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule)
        url = re.sub(r"<any\(([^)]*)\):[a-z_]+>", lambda m: m.group(1).split(",")[0].strip(), url)
        url = re.sub(r"<path:[a-z_]+>", "css/app.css", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


ROUTES = list(all_routes())


def test_the_walk_covers_the_main_routes():
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert {"reports.show", "sections.save", "workflow.transition", "main.index"} <= endpoints


@pytest.mark.parametrize("endpoint, method, url", ROUTES)
def test_no_route_is_reachable_without_login(app, endpoint, method, url):
    app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the login check, not the CSRF check
    client = app.test_client()
    response = client.open(url, method=method)
    response.close()  # static files are streamed from an open file
    if endpoint in PUBLIC:
        assert response.status_code in (200, 401, 302, 303, 400, 404)
        return
    assert response.status_code == 302, (endpoint, method, url, response.status_code)
    assert response.headers["Location"].startswith("/login")
