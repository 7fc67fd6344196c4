"""The finance bureau's year summary in a real browser: charts drawn by the server, filters, sorting,
a unit's trend across the years, and the page as it prints."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import flask, served, site_env

pytestmark = pytest.mark.e2e

UNITS = 8
PASSWORD = "e2e-supervisor-pass-42"
EDUCATION = "示范区教育局（0002）"


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A site over a seeded district (UNITS units, two years) with a 监管人员; yields its base URL."""
    tmp = tmp_path_factory.mktemp("summary")
    env = site_env(tmp, FLASK_LOAD_SAMPLE="false")
    flask(env, "first-run")
    flask(env, "seed-scale", "--units", str(UNITS), "--years", "2", "--sections", "3", "--last-year", "2024")
    flask(env, "create-user", "bureau", "--role", "supervisor", "--password", PASSWORD, "--name", "财政局监管")
    with served(tmp, env) as base:
        yield base


@pytest.fixture
def page(district, browser):
    """The 监管人员, logged in through the form."""
    context = browser.new_context(base_url=district, viewport={"width": 1400, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "bureau")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    yield page
    context.close()


def test_the_summary_shows_every_unit_beside_its_charts(page):
    page.get_by_role("link", name="汇总").click()
    page.wait_for_url(re.compile(r"/summary"))
    expect(page.locator("h1")).to_contain_text("2024年度")
    expect(page.locator("tr.unit-row")).to_have_count(UNITS)
    charts = page.locator(".summary-charts svg")
    expect(charts).to_have_count(4)
    for index in range(4):
        box = charts.nth(index).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
    expect(page.locator("svg script")).to_have_count(0)
    expect(page.locator(".summary-charts")).to_contain_text("填报进度")
    # Bars carry their counts as text: the filing season's bars add up to the units.
    labels = page.locator(".summary-charts svg").nth(3).get_attribute("aria-label")
    assert sum(int(n) for n in re.findall(r" (\d+)个单位", labels)) == UNITS


def test_filters_and_sorting_narrow_and_order_the_rows(page):
    page.goto("/summary?year=2024")
    page.get_by_label("单位名称含").fill("教育")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"unit_name="))
    expect(page.locator("tr.unit-row")).to_have_count(1)
    expect(page.locator("tr.unit-row")).to_contain_text(EDUCATION)
    page.goto("/summary?year=2023")
    page.locator("select[name=status]").select_option(label="已定稿")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"status=approved"))
    expect(page.locator("tr.unit-row")).to_have_count(UNITS)  # last year's reports are all approved
    page.get_by_role("link", name=re.compile("^单位")).click()
    page.wait_for_url(re.compile(r"sort=unit"))
    first_down = page.locator("tr.unit-row td:first-child").all_inner_texts()
    assert first_down == sorted(first_down, reverse=True)


def test_a_units_trend_across_the_years(page):
    page.goto("/summary?year=2024")
    page.get_by_role("link", name=EDUCATION).click()
    page.wait_for_url(re.compile(r"/summary/units/\d+"))
    expect(page.locator("h1")).to_contain_text(EDUCATION)
    expect(page.locator(".trend-table tbody tr")).to_have_count(2)
    expect(page.locator(".trend-chart svg polyline")).to_have_count(1)  # 总分 (no budget yet: no rate line)
    expect(page.locator(".trend-chart svg")).to_contain_text("2023")


def test_the_summary_prints_without_its_filters(page):
    page.goto("/summary?year=2024")
    page.emulate_media(media="print")
    expect(page.locator(".summary-filters")).to_be_hidden()
    expect(page.locator(".summary-charts svg").first).to_be_visible()
