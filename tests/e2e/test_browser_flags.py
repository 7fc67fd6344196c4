"""The browser the tests drive: Playwright's own disabled features kept, and no address-bar popup preloaded per page."""

import os
import time

import pytest

from tests.procs import processes

pytestmark = pytest.mark.e2e


def _processes() -> dict[int, tuple[int, list[str]]]:
    """pid → (parent pid, words of its command line). Chromium's helpers rewrite theirs into one string, so the
    words are split on spaces as well as NULs."""
    return {pid: (parent, " ".join(argv).split()) for pid, (parent, argv) in processes().items()}


def _descendants(processes: dict, root: int) -> set[int]:
    """Every process below `root`."""
    below, grew = {root}, True
    while grew:
        found = {pid for pid, (parent, _) in processes.items() if parent in below} - below
        below |= found
        grew = bool(found)
    return below - {root}


def _browser() -> tuple[int, list[str], dict]:
    """The Chromium this test process launched (through Playwright's driver): pid, words, and all processes."""
    processes = _processes()
    launched = {pid for pid in _descendants(processes, os.getpid()) if "--remote-debugging-pipe" in processes[pid][1]
                and not any(word.startswith("--type=") for word in processes[pid][1])}
    # A launcher script that does not exec (chromium-headless-shell's) shows the same switches: take the lowest.
    browsers = [pid for pid in launched if not _descendants(processes, pid) & launched]
    assert len(browsers) == 1, browsers
    return browsers[0], processes[browsers[0]][1], processes


def test_playwrights_own_disabled_features_are_kept(browser):
    # Chromium reads only the last --disable-features: ours must carry every one of Playwright's, whichever
    # Playwright is installed, or its fixes for automation (beforeunload dialogs, paint holding …) quietly go.
    _, words, _ = _browser()
    lists = [word.split("=", 1)[1].split(",") for word in words if word.startswith("--disable-features=")]
    assert len(lists) >= 2, lists  # Playwright's, then ours
    missing = set(lists[0]) - set(lists[-1])
    assert not missing, f"add {sorted(missing)} to PLAYWRIGHT_DISABLED_FEATURES in tests/e2e/conftest.py"


def test_a_new_page_starts_no_address_bar_popup(browser):
    # Each window of the full browser would preload its address-bar popup as a page in a renderer of its own;
    # if a Chromium update renames the features, this says so instead of the tests quietly getting slower.
    context = browser.new_context()
    try:
        context.new_page()
        time.sleep(0.5)
        pid, _, processes = _browser()
        helpers = [processes[child][1] for child in _descendants(processes, pid)]
    finally:
        context.close()
    assert any("--type=renderer" in words for words in helpers)  # the page's own: the helpers are found
    assert [words for words in helpers if "--top-chrome-webui" in words] == []
