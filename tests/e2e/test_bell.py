"""The bell in the header: its count changes when another user submits, without reloading the page."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DISPLAY_NAMES, UNIT, add_users, flask, log_in, served, site_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site of its own (its report is submitted here), with the bell refreshing every second."""
    tmp = tmp_path_factory.mktemp("bell")
    env = site_env(tmp, FLASK_BELL_SECONDS="1")
    flask(env, "first-run")
    add_users(env, [(username, username, DISPLAY_NAMES[username]) for username in ("editor", "reviewer")])
    with served(tmp, env) as base:
        yield base


def test_the_bell_counts_a_submission_by_another_user_without_a_reload(browser, site):
    reviewer = log_in(browser, site, "reviewer")
    reviewer.goto("/")
    expect(reviewer.locator("#bell")).to_be_visible()
    expect(reviewer.locator("#bell .bell-count")).to_have_count(0)
    reviewer.evaluate("window.__marker = 1")

    editor = log_in(browser, site, "editor")
    editor.goto("/")
    token = editor.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = editor.request.post(f"{site}/reports/1/submit", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert answer.status == 200

    expect(reviewer.locator("#bell .bell-count")).to_have_text("1", timeout=10_000)
    assert reviewer.evaluate("window.__marker") == 1  # swapped by htmx, not reloaded
    expect(editor.locator("#bell .bell-count")).to_have_count(0)  # not told of their own submission

    reviewer.locator("#bell").click()
    reviewer.wait_for_url("**/notifications")
    entry = reviewer.get_by_role("link", name=f"{UNIT}2024年度自评报告已提交审核，等待您审核（填报人甲）")
    entry.click()
    reviewer.wait_for_url("**/reports/1")
    expect(reviewer.locator("#bell .bell-count")).to_have_count(0)
    reviewer.context.close()
    editor.context.close()
