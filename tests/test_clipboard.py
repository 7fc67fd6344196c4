"""Pasting from Word, WPS, Excel and web pages (#16): each realistic clipboard becomes the Markdown a
clerk would have typed, and renders as the same paragraphs, lists, emphasis and tables."""

from pathlib import Path

import pytest

from app.clipboard import MAX_DEPTH, html_to_markdown, tsv_to_markdown
from app.render import render_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "clipboard"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_word_paragraphs_emphasis_lists_and_table():
    converted = html_to_markdown(fixture("word.html"))
    assert converted.markdown == (
        "**一、部门基本情况**\n"
        "2024年，我会认真贯彻落实**“两个确保”**要求，全面推进残疾人*康复*、就业等工作。\n"
        "\n"
        "- 精准康复服务\n"
        "- 就业帮扶**（重点）**\n"
        "1. 预算编制科学\n"
        "    a)细化到项目\n"
        "2. 预算执行及时\n"
        "\n"
        "（1）资产管理规范\n"
        "图1 康复服务人数（含a|b两类）\n"
        "\n"
        "| 项目 | 资金（万元） | 资金（万元） |\n"
        "| --- | --- | --- |\n"
        "| 康复项目 | 年初预算<br>（含追加） | 1,200.00 |\n"
        "| 康复项目 | 执行数 | 1,150.50 |\n"
        "\n"
        "以上数据来源于决算报表。"
    )
    assert converted.images == 1  # the picture is left out, and counted for the message


def test_word_paste_renders_as_lists_table_and_paragraphs():
    html = render_markdown(html_to_markdown(fixture("word.html")).markdown)
    assert "<ul>\n<li>精准康复服务</li>" in html and "<ol>\n<li>预算编制科学<br>" in html
    assert "<th>资金（万元）</th>" in html and "<td>年初预算<br>（含追加）</td>" in html
    assert "<p>（1）资产管理规范</p>" in html and "<em>康复</em>" in html
    for dropped in ("mso-", "MsoNormal", "o:p", "font-family", "supportLists", "file:///", "·"):
        assert dropped not in html


def test_wps_bold_spans_and_typed_chinese_numbers():
    markdown = html_to_markdown(fixture("wps.html")).markdown
    assert markdown.splitlines()[:5] == [
        "**（四）管理效率分析**",
        "**预算编制：**年初预算编制完整，细化率达100%。",
        "1、信息公开及时",
        "2、采购执行规范",
        "*注：*以上按\\*号标注的为重点。",
    ]
    assert "| 政府采购执行率 | 98.5% |" in markdown
    html = render_markdown(markdown)
    assert "<p>1、信息公开及时</p>" in html and "<p>2、采购执行规范</p>" in html
    assert "按*号标注" in html  # a typed asterisk stays an asterisk


def test_excel_range_merged_cells_repeat_hidden_ones_dropped():
    markdown = html_to_markdown(fixture("excel.html")).markdown
    assert markdown == (
        "| 资金来源 | 金额（万元） | 金额（万元） | 金额（万元） |\n"
        "| --- | --- | --- | --- |\n"
        "| 资金来源 | 年初预算数 | 全年预算数<br>（调整后） | 全年执行数 |\n"
        "| 财政拨款 | 2,100.00 | 2,162.14 | 2,100.50 |\n"
        "| 其他资金\\|自有 | 0.00 | 0.00 | 0.00 |"
    )
    assert "<td>其他资金|自有</td>" in render_markdown(markdown)


def test_excel_tab_separated_text_becomes_a_table():
    assert tsv_to_markdown(fixture("excel.tsv")) == (
        "| 资金来源 | 年初预算数 | 全年预算数 | 全年执行数 |\n"
        "| --- | --- | --- | --- |\n"
        "| 财政拨款 | 2,100.00 | 2,162.14 | 2,100.50 |\n"
        "| 其他资金 | 0.00 | 0.00 | 0.00 |"
    )
    assert tsv_to_markdown("一行\t两列") is None and tsv_to_markdown("没有\n制表符") is None


def test_web_page_links_nested_lists_table_and_nothing_unsafe():
    converted = html_to_markdown(fixture("web.html"))
    markdown = converted.markdown
    assert markdown.startswith("**关于2024年度部门整体支出绩效自评工作的通知**\n各预算单位：")
    assert "[广州市财政局关于开展绩效自评的通知](https://czj.example.gov.cn/zcfg/2024/123.html)" in markdown
    assert "- 自评内容\n    1. 预算执行\n    2. 绩效目标完成" in markdown
    assert "| 良 | 80～<90 |" in markdown
    assert "**联系人：**张科长，电话 020-8888 0000\n邮箱 点此" in markdown
    for dropped in ("alert", "javascript", "onclick", "banner.png", "rgb("):
        assert dropped not in markdown
    assert converted.images == 1


def test_copied_from_this_site_comes_back_the_same():
    markdown = html_to_markdown(fixture("site.html")).markdown
    assert markdown == (
        "经自评，2024年度部门整体支出绩效自评得分**98.78**分，等级为“优”。\n\n"
        "| 指标 | 得分 |\n| --- | --- |\n| 预算执行率 | 9.72 |\n\n"
        "> 说明：得分保留两位小数。"
    )


def test_plain_fields_get_plain_lines():
    markdown = html_to_markdown(fixture("word.html"), plain=True).markdown
    assert "**" not in markdown and "|" not in markdown.replace("a|b", "")
    assert "● 精准康复服务" in markdown and "康复项目　执行数　1,150.50" in markdown


@pytest.mark.parametrize("html", [
    "<div>" * (MAX_DEPTH * 20) + "深处" + "</div>" * (MAX_DEPTH * 20),
    "<table><tr><td colspan=99999999 rowspan=99999999>x</td><td>y</td></tr></table>",
    "<p>&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(1)></p>",
    "",
])
def test_hostile_clipboards_are_bounded(html):
    markdown = html_to_markdown(html).markdown
    assert len(markdown) < 10_000
    assert "<script" not in render_markdown(markdown) and "onerror" not in render_markdown(markdown)
