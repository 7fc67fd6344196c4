"""Outline numbers of official documents: 一、 （一） 1. （1）, computed from position and level."""

from collections.abc import Iterable

MAX_LEVEL = 4
_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九; 100 and more stay Arabic."""
    if not 1 <= n <= 99:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ""
    if tens:
        text = ("" if tens == 1 else _DIGITS[tens]) + "十"
    if ones:
        text += _DIGITS[ones]
    return text


def format_number(level: int, n: int) -> str:
    """The label of the n-th section at a level: 一、 （一） 1. （1）."""
    if level == 1:
        return f"{chinese_numeral(n)}、"
    if level == 2:
        return f"（{chinese_numeral(n)}）"
    if level == 3:
        return f"{n}."
    return f"（{n}）"


def number_outline(levels: Iterable[int]) -> list[str]:
    """Labels for sections given their levels in document order."""
    counters = [0] * (MAX_LEVEL + 1)
    labels = []
    for level in levels:
        counters[level] += 1
        for deeper in range(level + 1, MAX_LEVEL + 1):
            counters[deeper] = 0
        labels.append(format_number(level, counters[level]))
    return labels
