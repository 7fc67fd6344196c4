"""Every state-changing route refuses a forged request, and the refusal changes nothing.

For each POST route, a principal and state in which the authorization table allows it send the
route's working request five wrong ways: without the token, with another session's token, with
the token only in the query string, from another site (Origin, Referer, Origin: null), and as a
GET. The same request sent the right way succeeds (so each refusal is the CSRF defence's doing).
"""

from urllib.parse import urlencode

import pytest

from tests.conftest import csrf_from
from tests.security.authz_table import OK, PRINCIPALS, ROUTES, STATES, expected
from tests.security.matrix import digest

POSTS = sorted(key for key in ROUTES if key.startswith("POST "))
GET_TOO = {key.replace("POST ", "GET ", 1) for key in ROUTES if key.startswith("GET ")}
FOREIGN = "https://evil.example"


def allowed_case(key: str) -> tuple[str, str]:
    """A (state, principal) the table allows for this route, the admin in a draft if possible."""
    if key == "POST /login":
        return "draft", "anonymous"
    for state in STATES:
        for principal in ("admin", *PRINCIPALS):
            if expected(key, principal, state) == OK:
                return state, principal
    raise AssertionError(f"{key}: nobody may use it")


def request_parts(world, key: str):
    """(url, data, htmx) of the route's working request in this world (read from its database)."""
    req = ROUTES[key][1]
    ids = {**world.ids, "token": world.ids["tokens"]["valid"]}
    db = world.connect()
    data = req.data(ids, db) if callable(req.data) else req.data
    db.conn.close()
    return (req.url.format(**ids), {k: v.format(**ids) if isinstance(v, str) else v for k, v in data.items()},
            req.htmx)


def forged(world, principal: str, key: str, how: str):
    """Send the route's request with one thing wrong; the response."""
    url, data, htmx = request_parts(world, key)
    auth = world.client(principal)
    client, token = auth.client, auth.token
    headers = {"HX-Request": "true"} if htmx else {}
    if how == "no token":
        return client.post(url, data=data, headers=headers)
    if how == "another session's token":
        other = "viewer" if principal != "viewer" else "editor"
        return client.post(url, data=data, headers={**headers, "X-CSRFToken": world.tokens[other]})
    if how == "fresh session's token":
        stranger = csrf_from(world.app.test_client().get("/login").text)  # the token an attacker can get
        return client.post(url, data={**data, "csrf_token": stranger}, headers=headers)
    if how == "token in the query string only":
        return client.post(f"{url}?{urlencode({'csrf_token': token})}", data=data, headers=headers)
    if how == "cross-site Origin":
        return client.post(url, data=data, headers={**headers, "X-CSRFToken": token, "Origin": FOREIGN})
    if how == "cross-site Referer":
        return client.post(url, data=data, headers={**headers, "X-CSRFToken": token, "Referer": FOREIGN + "/x"})
    if how == "Origin: null":
        return client.post(url, data=data, headers={**headers, "X-CSRFToken": token, "Origin": "null"})
    if how == "GET instead of POST":
        return client.get(f"{url}?{urlencode({**data, 'csrf_token': token})}", headers=headers)
    raise AssertionError(how)


WAYS = ("no token", "another session's token", "fresh session's token", "token in the query string only",
        "cross-site Origin", "cross-site Referer", "Origin: null", "GET instead of POST")


@pytest.mark.parametrize("key", POSTS)
def test_a_forged_request_is_refused_and_changes_nothing(key, worlds):
    state, principal = allowed_case(key)
    world = worlds(state)
    world.use_base()
    watch = world.watch
    wrong = []
    for how in WAYS:
        response = forged(world, principal, key, how)
        response.close()
        if how == "GET instead of POST":
            # A route that also answers GET shows its form; none changes anything.
            refused = response.status_code == 405 or key.replace("POST ", "GET ", 1) in GET_TOO
        elif how.startswith("cross-site") or how == "Origin: null":
            refused = response.status_code == 403
        else:
            refused = response.status_code == 400 and (key == "POST /login" or "CSRF" in response.text)
        if not refused:
            wrong.append(f"{how}: {response.status_code}")
        if not watch.unchanged():
            wrong.append(f"{how}: the database changed")
            watch.baseline = digest(world.base)
    assert not wrong, f"{key} as {principal} in {state}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("key", POSTS)
def test_the_same_request_sent_properly_from_the_site_itself_succeeds(key, worlds):
    state, principal = allowed_case(key)
    world = worlds(state)
    url, _, htmx = request_parts(world, key)
    copy = world.use_copy()
    req = ROUTES[key][1]
    ids = {**world.ids, "token": world.ids["tokens"]["valid"]}
    db = world.connect(copy)
    if req.prepare:
        req.prepare(ids, db)
    data = req.data(ids, db) if callable(req.data) else req.data
    db.conn.close()
    data = {k: v.format(**ids) if isinstance(v, str) else v for k, v in data.items()}
    auth = world.client(principal)
    headers = {"X-CSRFToken": auth.token, "Origin": "http://localhost", "Referer": "http://localhost/"}
    if htmx:
        headers["HX-Request"] = "true"
    response = auth.client.post(url, data=data, headers=headers)
    world.use_base()
    expected_status = 401 if key == "POST /login" else range(200, 400)
    assert response.status_code in (expected_status if isinstance(expected_status, range) else [expected_status])
