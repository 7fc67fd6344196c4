"""Differences between two texts, line by line and, inside changed lines, character by character."""

import difflib
import html
from dataclasses import dataclass

# Chinese paragraphs are long single lines: comparing only whole lines would mark a
# paragraph changed for one character. Changed line pairs are compared by character,
# unless they are too long for difflib to stay fast.
MAX_CHAR_DIFF = 5_000
MIN_SIMILARITY = 0.5


@dataclass
class DiffLine:
    """One line of a diff: kind is 'same', 'added', 'removed' or 'changed'; html is escaped."""

    kind: str
    html: str


def _char_diff(old: str, new: str) -> str | None:
    """One line showing deletions and insertions inline; None when the lines hardly match."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    # A rewritten paragraph reads better as old and new lines than as confetti of edits.
    if matcher.ratio() < MIN_SIMILARITY:
        return None
    parts = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(html.escape(old[a1:a2]))
            continue
        if a2 > a1:
            parts.append(f"<del>{html.escape(old[a1:a2])}</del>")
        if b2 > b1:
            parts.append(f"<ins>{html.escape(new[b1:b2])}</ins>")
    return "".join(parts)


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """The lines of `new` against `old`, with what was removed and added marked."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    result = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            result += [DiffLine("same", html.escape(line)) for line in old_lines[a1:a2]]
            continue
        removed, added = old_lines[a1:a2], new_lines[b1:b2]
        paired = min(len(removed), len(added)) if op == "replace" else 0
        for a, b in zip(removed[:paired], added[:paired], strict=True):
            inline = _char_diff(a, b) if len(a) + len(b) <= MAX_CHAR_DIFF else None
            if inline is not None:
                result.append(DiffLine("changed", inline))
            else:
                result.append(DiffLine("removed", html.escape(a)))
                result.append(DiffLine("added", html.escape(b)))
        result += [DiffLine("removed", html.escape(line)) for line in removed[paired:]]
        result += [DiffLine("added", html.escape(line)) for line in added[paired:]]
    return result


def has_changes(lines: list[DiffLine]) -> bool:
    """Whether a diff shows any difference."""
    return any(line.kind != "same" for line in lines)
