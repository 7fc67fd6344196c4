"""Reading the outline from numbering: the sample, variants, and what is body text."""

import pytest

from app.numbering import chinese_numeral, number_outline
from app.outline import parse
from tests.conftest import SAMPLE_TEXT

SAMPLE_OUTLINE = [
    (1, "一、", "绩效自评情况"),
    (2, "（一）", "部门整体支出绩效目标"),
    (2, "（二）", "自评结论"),
    (2, "（三）", "履职效能分析"),
    (3, "1.", "扩面提质，在完善残疾人康复服务上持续用力"),
    (3, "2.", "多措并举，在完善残疾人就业服务上持续用力"),
    (3, "3.", "共享共荣，在完善残疾人关爱服务上持续用力"),
    (3, "4.", "创新创优，在推动残疾人公共服务上持续用力"),
    (3, "5.", "党建引领，在优化残建融合环境上持续用力"),
    (2, "（四）", "管理效率分析"),
    (1, "二、", "存在的主要问题和下一步改进措施"),
]


def outline_of(parsed):
    """(level, number, title) for each parsed section."""
    numbers = number_outline(s.level for s in parsed.sections)
    return [(s.level, n, s.title) for s, n in zip(parsed.sections, numbers, strict=True)]


def test_sample_imports_as_the_expected_outline():
    parsed = parse(SAMPLE_TEXT)
    assert parsed.title == "2024年度广州市荔湾区残疾人联合会 部门整体支出绩效自评表说明"
    assert parsed.preamble == ""
    assert outline_of(parsed) == SAMPLE_OUTLINE


def test_sample_bold_heading_keeps_its_run_in_body():
    last = parse(SAMPLE_TEXT).sections[-1]
    assert last.title == "存在的主要问题和下一步改进措施"
    assert last.markdown == "暂无。"


def test_sample_bodies_stay_with_their_sections():
    sections = parse(SAMPLE_TEXT).sections
    assert sections[0].markdown == ""
    assert sections[2].markdown.startswith("2024年度，在区委、区政府的坚强领导下")
    assert "截至 2024 年 12 月 30 日" in sections[2].markdown
    assert sections[9].markdown.startswith("一是预算编制上")
    assert sections[9].markdown.endswith("公用经费控制有效。")


@pytest.mark.parametrize("line, level, title", [
    ("一、绩效自评情况", 1, "绩效自评情况"),
    ("十二、其他", 1, "其他"),
    ("（一）部门整体支出绩效目标", 2, "部门整体支出绩效目标"),
    ("(二)自评结论", 2, "自评结论"),
    ("( 三 ) 履职效能分析", 2, "履职效能分析"),
    ("1. 扩面提质", 3, "扩面提质"),
    ("2、多措并举", 3, "多措并举"),
    ("3．共享共荣", 3, "共享共荣"),
    ("（1）康复服务", 4, "康复服务"),
    ("(2) 就业服务", 4, "就业服务"),
    ("**（一）部门整体支出绩效目标**", 2, "部门整体支出绩效目标"),
    ("**二、存在的主要问题。**", 1, "存在的主要问题"),
])
def test_numbering_variants_in_plain_text_give_levels(line, level, title):
    parsed = parse(f"报告说明\n\n{line}\n\n正文。", plain=True)
    assert [(s.level, s.title) for s in parsed.sections] == [(level, title)]
    assert parsed.sections[0].markdown == "正文。"


@pytest.mark.parametrize("line", [
    "(1) 预算编制：年初预算编制科学合理，执行有力。",
    "（1）预算编制：年初预算编制科学合理",
    "1. 全年新增就业人数1243人。",
    "一、是预算编制上合理；",
    "1.5万元用于康复资助",
    "2024年度，区残联高标准完成了年度各项目标任务",
])
def test_sentences_and_run_in_paragraphs_are_body_text(line):
    parsed = parse(f"一、绩效自评情况\n{line}", plain=True)
    assert len(parsed.sections) == 1
    assert parsed.sections[0].markdown == line


def test_plain_text_from_word_makes_each_line_a_paragraph_and_finds_title():
    text = (
        "\ufeff2023年度某某局部门整体支出绩效自评报告\r\n"
        "说明如下。\r\n一、绩效自评情况\r\n（一）部门整体支出绩效目标\r\n"
        "\u3000\u3000第一段。\r\n\u3000\u3000第二段。\r\n二、存在的问题\r\n无。\r\n"
    )
    parsed = parse(text)
    assert parsed.title == "2023年度某某局部门整体支出绩效自评报告"
    assert parsed.preamble == "说明如下。"
    assert [(s.level, s.title) for s in parsed.sections] == [
        (1, "绩效自评情况"), (2, "部门整体支出绩效目标"), (1, "存在的问题")]
    assert parsed.sections[1].markdown == "第一段。\n\n第二段。"


def test_markdown_lists_are_not_headings_where_headings_use_hashes():
    text = "# 标题\n\n## 一、情况\n\n1. 第一项\n2. 第二项\n\n### （一）目标\n\n正文"
    parsed = parse(text)
    assert [(s.level, s.title) for s in parsed.sections] == [(1, "情况"), (2, "目标")]
    assert parsed.sections[0].markdown == "1. 第一项\n2. 第二项"


def test_wrong_hash_counts_do_not_change_levels():
    text = "# 标题\n\n#### 一、甲\n\n# （一）乙\n\n## 1. 丙\n\n###### （1）丁\n"
    assert [s.level for s in parse(text).sections] == [1, 2, 3, 4]


@pytest.mark.parametrize("n, text", [(1, "一"), (10, "十"), (11, "十一"), (20, "二十"),
                                     (35, "三十五"), (99, "九十九")])
def test_chinese_numerals(n, text):
    assert chinese_numeral(n) == text


def test_numbering_follows_position_and_restarts_under_each_parent():
    assert number_outline([1, 2, 3, 3, 2, 3, 4, 4, 1, 2]) == [
        "一、", "（一）", "1.", "2.", "（二）", "1.", "（1）", "（2）", "二、", "（一）"]
