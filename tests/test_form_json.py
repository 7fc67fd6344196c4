"""The form's JSON (DESIGN §8), its tables for print and Word, and placeholders in the narrative."""

import json
import re

import pytest

from app.form_model import FormInputError, form_from_json, form_to_json, load_form_file
from app.form_render import form_html, form_tables, row_spans
from app.placeholders import PLACEHOLDERS, fill, unknown_in, values_from_json, values_from_score
from app.render import render_markdown
from tests.conftest import SAMPLE_REPORT

SAMPLE_FORM = SAMPLE_REPORT.with_name("liwan-2024-form.json")


def sample_json() -> dict:
    """The sample's form as exported."""
    form = load_form_file(SAMPLE_FORM)
    return form_to_json(form, form.score())


def test_the_export_has_the_contract_shape_with_decimal_strings():
    data = sample_json()
    assert set(data) >= {"contact", "budget", "goals", "indicators"}
    assert data["contact"] == {"name": "陈晓敏", "phone": "020-81234567", "date": "2025-03-14"}
    assert data["budget"]["weight"] == "10"
    assert data["budget"]["lines"][0] == {"source": "财政拨款", "initial": "2100.00", "adjusted": "2162.14",
                                          "executed": "2100.50"}
    first = data["indicators"][0]
    assert first == {"level1": "履职效能", "level2": "产出指标", "name": "康复资助审批人数", "kind": "quantitative",
                     "direction": ">=", "unit": "人", "target": "3000", "actual": "3294", "rating": None,
                     "weight": "10", "override": None, "reason": "", "score": "10.00"}
    assert set(data["goals"]) == {"target", "actual", "unmet_reason"}
    json.dumps(data)  # nothing but JSON types


def test_import_recomputes_scores_and_ignores_computed_fields():
    data = sample_json()
    for indicator in data["indicators"]:
        indicator["score"] = "0.00"  # a stale or forged score in the file
    data["indicators"][0]["actual"] = "2700"
    form = form_from_json(data)
    assert form.score().indicators[0].score.to_eng_string() == "9.00"
    assert form_to_json(form)["indicators"][0]["score"] == "9.00"


def test_round_trip_keeps_everything():
    data = sample_json()
    data["indicators"][1]["override"] = {"score": "4.5", "reason": "口径调整"}
    assert form_to_json(form_from_json(data)) == {**data, "indicators": [
        {**i, "score": "4.50"} if n == 1 else i for n, i in enumerate(data["indicators"])]}


def test_import_accepts_values_as_people_type_them():
    data = sample_json()
    data["budget"]["lines"][0]["adjusted"] = "２，１６２．１４万元"
    data["indicators"][0]["actual"] = "3,294人"
    form = form_from_json(data)
    assert form_to_json(form)["budget"]["lines"][0]["adjusted"] == "2162.14"
    assert form.indicators[0].actual == "3294"


@pytest.mark.parametrize("change, message", [
    (lambda d: d["budget"]["lines"][0].update(executed="-1"), "预算资金第 1 行：全年执行数不能为负数"),
    (lambda d: d["indicators"][2].update(actual="NaN"), "第 3 个指标：实际完成值须为数字"),
    (lambda d: d["indicators"][0].update(kind="其他"), "指标性质须为定量或定性"),
    (lambda d: d["indicators"][0].update(override={"score": "5", "reason": ""}), "须写明调整理由"),
    (lambda d: d["indicators"][0].update(override={"score": "50", "reason": "x"}), "不能超过分值"),
    (lambda d: d["contact"].update(date="2025-02-30"), "填报日期格式不对"),
    (lambda d: d.update(indicators="none"), "须为数组"),
    (lambda d: d.update(rules={"grades": [{"grade": "优", "min": "50"}, {"grade": "良", "min": "80"}]}),
     "评分规则"),
])
def test_bad_form_json_is_refused_with_the_place_named(change, message):
    data = sample_json()
    change(data)
    with pytest.raises(FormInputError, match=message):
        form_from_json(data)


def test_tables_for_print_and_word_carry_every_figure():
    data = sample_json()
    tables = form_tables(data, {"budget": "9.72", "indicators": "89.06", "total": "98.78", "grade": "优"},
                         "广州市荔湾区残疾人联合会", 2024)
    assert [t.title for t in tables] == ["基本情况", "预算资金执行情况（万元）", "年度总体目标完成情况",
                                         "绩效指标完成情况", "自评得分"]
    header, budget, _, indicators, total = tables
    assert header.rows == [["广州市荔湾区残疾人联合会", "2024年度", "陈晓敏", "020-81234567", "2025-03-14"]]
    assert budget.rows[0] == ["合计", "2100.00", "2162.14", "2100.50", "10", "97.15%", "9.72"]
    assert indicators.rows[0][:8] == ["履职效能", "产出指标", "康复资助审批人数", "定量", "≥3000人", "3294人", "10",
                                      "10.00"]
    assert indicators.wide and all(len(row) == len(indicators.header) for row in indicators.rows)
    assert total.rows == [["9.72", "89.06", "98.78", "优"]]


def test_equal_neighbouring_categories_merge_into_one_cell():
    indicators = form_tables(sample_json(), {})[3]
    spans = row_spans(indicators)
    assert spans[0][0] == 8 and all(row[0] == 0 for row in spans[1:8])  # 履职效能 over 8 rows
    assert spans[0][1] == 4 and spans[4][1] == 3 and spans[7][1] == 1   # 产出 4, 效益 3, 满意度 1
    assert spans[8][0] == 9


def test_form_html_escapes_everything_typed():
    data = sample_json()
    data["indicators"][0]["name"] = '<script>alert(1)</script>'
    data["goals"]["target"] = '"><img src=x onerror=alert(1)>'
    markup = form_html(data, {"total": "<b>"}, "<i>单位</i>", 2024)
    assert "<script>" not in markup and "<img" not in markup and "<i>" not in markup and "<b>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert markup.count('<table class="form-table') == 5
    assert 'class="form-table form-indicators wide"' in markup
    assert form_html(None, None) == ""


def test_placeholders_are_filled_in_text_but_never_inside_tags():
    html = render_markdown('总分{{总分}}，等级｛｛等级｝｝，[链接](http://x/{{总分}} "{{等级}}")，'
                           "{{ 执行率 }}，{{未知}}")
    filled = fill(html, {"总分": "98.78", "等级": "优", "执行率": "97.15%"})
    assert '总分<span class="ph ph-total" title="取自自评表，随表更新">98.78</span>' in filled
    assert '<span class="ph ph-grade"' in filled and '<span class="ph ph-rate"' in filled
    assert 'href="http://x/{{总分}}"' in filled and 'title="{{等级}}"' in filled
    assert "{{未知}}" in filled


def test_placeholder_values_are_escaped():
    assert "&lt;b&gt;" in fill("<p>{{等级}}</p>", {"等级": "<b>"})


def test_placeholder_values_from_live_scores_and_frozen_json_agree():
    form = load_form_file(SAMPLE_FORM)
    score = form.score()
    live = values_from_score(score)
    assert live == values_from_json(form_to_json(form, score), score.to_dict())
    assert live["总分"] == "98.78" and live["等级"] == "优" and live["执行率"] == "97.15%"
    assert set(live) == set(PLACEHOLDERS)
    assert re.sub(r"<[^>]+>", "", fill("<p>得分{{总分}}（{{等级}}）</p>", live)) == "得分98.78（优）"


def test_unknown_placeholders_are_reported_once_each():
    assert unknown_in("{{总分}}{{得分}}{{得分}}｛｛分数｝｝") == ["得分", "分数"]
