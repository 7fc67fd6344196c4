"""A district's home page in a real browser: with many units, the filter takes part of a name and
suggests matching units as one types; new reports are made on a page of their own.

Runs its own site over a seeded district, so the shared site of the other browser tests keeps its
few units and its inline lists."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import flask, log_in, served, site_env

pytestmark = pytest.mark.e2e

UNITS = 40  # more than the home page lists in a drop-down (dashboard.MANY_UNITS)
EDUCATION = "示范区教育局（0002）"  # seed-scale names units after the district's departments


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A site over a seeded district of UNITS units, one year, short reports; yields its base URL."""
    tmp = tmp_path_factory.mktemp("district")
    env = site_env(tmp, FLASK_LOAD_SAMPLE="false")
    flask(env, "first-run")
    flask(env, "seed-scale", "--units", str(UNITS), "--years", "1", "--sections", "3", "--last-year", "2024")
    with served(tmp, env) as base:
        yield base


def test_the_unit_filter_suggests_names_and_narrows_the_list(district, browser):
    page = log_in(browser, district, "admin")
    try:
        page.goto("/")
        expect(page.locator("select[name=unit]")).to_have_count(0)
        name = page.get_by_label("单位名称含")
        name.press_sequentially("教育", delay=50)
        # Two of the forty units are 教育局: (0002) and (0022); the browser offers both.
        expect(page.locator("#unit-names option")).to_have_count(2)
        expect(page.locator(f'#unit-names option[value="{EDUCATION}"]')).to_have_count(1)
        name.fill(EDUCATION)
        page.get_by_role("button", name="筛选").click()
        page.wait_for_url(re.compile(r"unit_name="))
        rows = page.locator("table.list tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(EDUCATION)
        expect(page.get_by_label("单位名称含")).to_have_value(EDUCATION)
    finally:
        page.context.close()


def test_a_new_report_is_made_on_its_own_page(district, browser):
    page = log_in(browser, district, "admin")
    try:
        page.goto("/")
        page.get_by_role("link", name="去新建").click()
        page.wait_for_url(re.compile(r"/reports/new$"))
        page.locator("select[name=unit_id]").select_option(label=EDUCATION)
        page.get_by_label("年度").fill("2025")
        page.get_by_role("button", name="新建报告").click()
        page.wait_for_url(re.compile(r"/reports/\d+$"))
        expect(page.locator("h1")).to_contain_text(f"2025年度{EDUCATION}")
    finally:
        page.context.close()
