"""Numbers as clerks type them: accepted and normalised, or refused with a Chinese message."""

from decimal import Decimal

import pytest

from app.quantities import QuantityError, fixed, parse_money, parse_quantity, parse_weight, plain


@pytest.mark.parametrize("typed, expected", [
    ("2162.14", "2162.14"),
    ("１２３", "123.00"),                     # full-width digits
    ("1,234.56", "1234.56"),                 # thousands separators
    ("２，１６２．１４", "2162.14"),            # full-width separators and point
    ("2162.14万元", "2162.14"),               # the unit written out
    ("2162.14 万", "2162.14"),
    (" 1 234 ", "1234.00"),                  # spaces anywhere
    ("2162。14", "2162.14"),                  # a Chinese input method's full stop
    ("0", "0.00"),
    ("2162.140", "2162.14"),                 # a trailing zero is not a third decimal
    ("+5", "5.00"),
])
def test_money_is_accepted_as_typed_and_kept_exact(typed, expected):
    value = parse_money(typed)
    assert isinstance(value, Decimal)
    assert format(value, "f") == expected


@pytest.mark.parametrize("typed, message", [
    ("abc", "须为数字"),
    ("NaN", "须为数字"),
    ("nan", "须为数字"),
    ("inf", "须为数字"),
    ("Infinity", "须为数字"),
    ("1e5", "须为数字"),
    ("-1", "不能为负数"),
    ("－１", "不能为负数"),
    ("1.234", "最多保留两位小数"),
    ("12,34", "千分位"),
    ("1,2345", "千分位"),
    ("21621400元", "以万元为单位"),
    ("1亿", "以万元为单位"),
    ("98%", "不能是百分数"),
    ("100000000", "过大"),
    ("9" * 41, "过长"),
    ("1.2.3", "须为数字"),
])
def test_bad_money_is_refused_with_a_chinese_message(typed, message):
    with pytest.raises(QuantityError, match=message):
        parse_money(typed)


def test_blank_money_means_not_filled_in():
    assert parse_money("") is None
    assert parse_money("   ") is None


@pytest.mark.parametrize("typed, unit, expected", [
    ("3294", "人", "3294"),
    ("3294人", "人", "3294"),               # the indicator's own unit
    ("３，２９４", "人", "3294"),
    ("98%", "%", "98"),
    ("98％", "%", "98"),
    ("2.5%", "%", "2.5"),
    ("6.4万人次", "人次", "64000"),         # 万 multiplies
    ("907.54万", "万元", "907.54"),         # unless the unit is already in 万
    ("-5%", "%", "-5"),                     # a growth rate may fall
    ("100.00", "%", "100"),
    ("0", "", "0"),
])
def test_quantities_accept_units_percent_and_wan(typed, unit, expected):
    assert plain(parse_quantity(typed, unit)) == expected


@pytest.mark.parametrize("typed, unit, message", [
    ("98%", "人", "不能填写百分数"),
    ("三千", "人", "须为数字"),
    ("1.23456", "", "最多保留 4 位小数"),
    ("1" * 13, "", "过大"),
    ("NaN", "", "须为数字"),
    ("-inf", "", "须为数字"),
])
def test_bad_quantities_are_refused(typed, unit, message):
    with pytest.raises(QuantityError, match=message):
        parse_quantity(typed, unit)


@pytest.mark.parametrize("typed, expected", [("10", "10"), ("10.00", "10"), ("7.5分", "7.5"), ("０", "0")])
def test_weights(typed, expected):
    assert plain(parse_weight(typed)) == expected


@pytest.mark.parametrize("typed, message", [("-1", "不能为负数"), ("101", "不能超过 100 分"), ("1.005", "两位小数")])
def test_bad_weights(typed, message):
    with pytest.raises(QuantityError, match=message):
        parse_weight(typed)


def test_formatting_never_shows_exponents_and_rounds_half_up():
    assert plain(Decimal("1E+1")) == "10"
    assert plain(None) == ""
    assert fixed(Decimal("9.715")) == "9.72"
    assert fixed(Decimal("-0")) == "0.00"
