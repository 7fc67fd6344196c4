"""Numbers as people type them (１２３, 1,234.56, 98%, 907.54万元) turned into exact Decimals, or a Chinese message."""

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MONEY_PLACES = 2
MAX_MONEY = Decimal("100000000")  # 万元: one 万亿元 is far beyond any budget unit
MAX_QUANTITY = Decimal("1000000000000")
QUANTITY_PLACES = 4
MAX_WEIGHT = Decimal("100")
WEIGHT_PLACES = 2
MAX_INPUT_CHARS = 40

# Digits with an optional sign and decimal part; thousands separators only in groups of three.
_PLAIN = re.compile(r"[+-]?\d+(?:\.\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MULTIPLIERS = {"万": Decimal("10000"), "亿": Decimal("100000000")}


class QuantityError(ValueError):
    """Input that is not an acceptable number; the message says why, in Chinese."""


def _normalise(text: str) -> str:
    """Full-width forms folded to ASCII, the Chinese full stop used as a decimal point, spaces removed."""
    # NFKC folds １２３ ． ， ％ － and the ideographic space; 。 is what a Chinese IME types for "."
    text = unicodedata.normalize("NFKC", str(text)).replace("。", ".").replace("\u2212", "-")
    return re.sub(r"\s+", "", text)


def _to_decimal(text: str, what: str) -> Decimal:
    """Digits (with optional grouping) to a finite Decimal, or QuantityError."""
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    elif "," in text and _PLAIN.fullmatch(text.replace(",", "")):
        raise QuantityError(f"{what}的千分位逗号位置不对（应为每三位一个，如 1,234.56）。")
    if not _PLAIN.fullmatch(text):
        raise QuantityError(f"{what}须为数字，如 3294 或 2162.14。")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise QuantityError(f"{what}须为数字。") from None
    if not value.is_finite():  # pragma: no cover - the pattern admits no NaN or Infinity
        raise QuantityError(f"{what}须为有限的数字。")
    return value


def _places(value: Decimal) -> int:
    """Decimal places that carry information (2162.140 has two)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _strip_suffix(text: str, suffixes) -> tuple[str, str]:
    """(text without the first matching suffix, that suffix or "")."""
    for suffix in suffixes:
        if suffix and text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)], suffix
    return text, ""


def _check_length(text: str, what: str) -> None:
    """Refuse input too long to be a number before doing any work on it."""
    if len(str(text)) > MAX_INPUT_CHARS:
        raise QuantityError(f"{what}过长，请只填写数字。")


def parse_money(text: str, what: str = "金额") -> Decimal | None:
    """An amount in 万元 with at most two decimals (None when blank); refuses negatives and 元 amounts."""
    _check_length(text, what)
    text = _normalise(text)
    if not text:
        return None
    text, _ = _strip_suffix(text, ("万元", "万"))
    if text.endswith(("亿元", "亿")):
        raise QuantityError(f"{what}请以万元为单位填写（1亿元填 10000）。")
    if text.endswith("元"):
        raise QuantityError(f"{what}请以万元为单位填写，如 2162.14（即 2162.14 万元），不要填写以元为单位的金额。")
    if text.endswith("%"):
        raise QuantityError(f"{what}不能是百分数。")
    value = _to_decimal(text, what)
    if value < 0:
        raise QuantityError(f"{what}不能为负数。")
    if _places(value) > MONEY_PLACES:
        raise QuantityError(f"{what}以万元为单位，最多保留两位小数（精确到百元）。")
    if value >= MAX_MONEY:
        raise QuantityError(f"{what}过大（不超过 {MAX_MONEY:,} 万元），请检查是否多填了位数或误以元为单位。")
    return value.quantize(Decimal("0.01")) + 0  # exact (two places at most); + 0 turns -0.00 into 0.00


def parse_quantity(text: str, unit: str = "", what: str = "数值") -> Decimal | None:
    """An indicator value (None when blank): strips its own unit, a trailing % or 万; may be negative."""
    _check_length(text, what)
    text = _normalise(text)
    if not text:
        return None
    unit = _normalise(unit)
    text, _ = _strip_suffix(text, (unit,) if unit and unit != "%" else ())
    text, percent = _strip_suffix(text, ("%",))
    if percent and unit not in ("", "%"):
        raise QuantityError(f"{what}的计量单位是“{unit}”，不能填写百分数。")
    if unit[:1] in _MULTIPLIERS:
        # The unit is already in 万 (万元, 万人次): "907.54万" means 907.54 of it, not 9,075,400.
        text, multiplier = _strip_suffix(text, (unit[:1],))[0], ""
    else:
        text, multiplier = _strip_suffix(text, tuple(_MULTIPLIERS))
    value = _to_decimal(text, what)
    if multiplier:
        value *= _MULTIPLIERS[multiplier]
    if _places(value) > QUANTITY_PLACES:
        raise QuantityError(f"{what}最多保留 {QUANTITY_PLACES} 位小数。")
    if abs(value) >= MAX_QUANTITY:
        raise QuantityError(f"{what}过大，请检查是否多填了位数。")
    return value.normalize() + 0


def parse_weight(text: str, what: str = "分值") -> Decimal | None:
    """A weight or a score between 0 and 100 with at most two decimals (None when blank)."""
    _check_length(text, what)
    text = _normalise(text)
    if not text:
        return None
    text, _ = _strip_suffix(text, ("分",))
    value = _to_decimal(text, what)
    if value < 0:
        raise QuantityError(f"{what}不能为负数。")
    if _places(value) > WEIGHT_PLACES:
        raise QuantityError(f"{what}最多保留两位小数。")
    if value > MAX_WEIGHT:
        raise QuantityError(f"{what}不能超过 100 分。")
    return value.normalize() + 0


def plain(value: Decimal | None) -> str:
    """A Decimal as people write it: 3294, 2.5, 10 (never 1E+1); "" for None."""
    if value is None:
        return ""
    return format(value.normalize() + 0, "f")


def fixed(value: Decimal | None, places: int = 2) -> str:
    """A Decimal with a fixed number of decimals: 2162.14, 9.70; "" for None."""
    if value is None:
        return ""
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) + 0, "f")
