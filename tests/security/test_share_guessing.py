"""Guessing share links: every wrong guess gets the same 404, and an address that guesses too often is
held back with 429 (good links too, so guessing cannot continue by other means); the limiter forgets."""

import re
import secrets

from app.shares import TOKEN_BYTES
from app.throttle import Throttle
from tests.conftest import Auth, csrf_from


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def share_link(app) -> str:
    """A live link to the sample report's draft, made through the page."""
    auth = Auth(app.test_client())
    auth.login("editor")
    rid = app.config["SAMPLE_ID"]
    page = auth.get(f"/reports/{rid}/shares")
    response = auth.client.post(f"/reports/{rid}/shares", data={
        "csrf_token": csrf_from(page.text), "expires": "7", "note": "", "draft": "1"})
    return re.search(r"/s/([A-Za-z0-9_-]{32})", response.text).group(1)


def without_request_id(response) -> tuple:
    """What a guesser sees, less the per-request id."""
    headers = tuple(sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID"))
    return response.status_code, headers, response.get_data()


def test_wrong_guesses_of_every_shape_get_one_identical_answer(app):
    client = app.test_client()
    guesses = [secrets.token_urlsafe(TOKEN_BYTES) for _ in range(8)] + [
        "short", "x" * 33, "A" * 32, "..%2F..%2Fetc%2Fpasswd", "%00" * 11, "' OR 1=1 --", "𠀀" * 32, "-" * 32]
    answers = {without_request_id(client.get(f"/s/{guess}")) for guess in guesses}
    assert len(answers) == 1
    status, _, body = answers.pop()
    assert status == 404 and "链接无效".encode() in body


def test_an_address_that_guesses_too_often_is_held_back_even_for_good_links(app):
    token = share_link(app)
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.9.0.1"
    statuses = [guesser.get(f"/s/{secrets.token_urlsafe(TOKEN_BYTES)}").status_code for _ in range(30)]
    assert statuses[:20] == [404] * 20 and set(statuses[20:]) == {429}
    held = guesser.get(f"/s/{token}")
    assert held.status_code == 429 and int(held.headers["Retry-After"]) <= 60
    assert "访问过于频繁" in held.text and "链接无效" not in held.text
    for path in (f"/s/{token}/print", f"/s/{token}/export.pdf"):
        assert guesser.get(path).status_code == 429
    # Another address is not affected, and the view of a good link still counts.
    reader = app.test_client()
    reader.environ_base["REMOTE_ADDR"] = "10.9.0.2"
    assert reader.get(f"/s/{token}").status_code == 200


def test_the_hold_ends_when_the_minute_is_over(app):
    clock = FakeClock()
    app.extensions["jixiao.throttles"]["share_address"].clock = clock
    client = app.test_client()
    for _ in range(21):
        client.get(f"/s/{secrets.token_urlsafe(TOKEN_BYTES)}")
    assert client.get("/s/" + "B" * 32).status_code == 429
    clock.now += 61
    assert client.get("/s/" + "B" * 32).status_code == 404


def test_good_links_do_not_count_as_guesses(app):
    token = share_link(app)
    client = app.test_client()
    assert all(client.get(f"/s/{token}").status_code == 200 for _ in range(40))


def test_the_limiter_keeps_bounded_memory_under_many_addresses():
    throttle = Throttle(limit=3, window=60, max_keys=1000)
    for i in range(50_000):
        throttle.hit(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(throttle) <= 1000
    # The newest keys are still remembered; the limit still bites.
    for _ in range(3):
        throttle.hit("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") > 0


def test_the_lockout_mode_counts_afresh_after_the_lock():
    clock = FakeClock()
    throttle = Throttle(limit=5, window=3600, lockout=900, clock=clock)
    for _ in range(4):
        throttle.hit("ghost")
    assert throttle.retry_after("ghost") == 0
    throttle.hit("ghost")
    assert 899 < throttle.retry_after("ghost") <= 900
    clock.now += 901
    assert throttle.retry_after("ghost") == 0
    throttle.hit("ghost")
    assert throttle.retry_after("ghost") == 0  # one failure after the lock is one, not six
