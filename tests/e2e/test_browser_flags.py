"""The browser the tests drive: Playwright's own disabled features kept, and no address-bar popup preloaded per page."""

import os
import time

import pytest

from tests.e2e.conftest import BROWSER_UI_FEATURES

pytestmark = pytest.mark.e2e


def _descendants() -> dict[int, list[str]]:
    """Command lines of this test process's descendants (Playwright's driver, the browser and its helpers)."""
    parents, commands = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as stat:
                parents[int(name)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                commands[int(name)] = cmdline.read().decode(errors="replace").split("\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    mine, grew = {os.getpid()}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in mine} - mine
        mine |= found
        grew = bool(found)
    return {pid: commands[pid] for pid in mine if pid in commands and pid != os.getpid()}


def _browser_command_line() -> list[str]:
    """The switches of the Chromium this process launched (the one without --type=)."""
    browsers = [argv for argv in _descendants().values()
                if "--remote-debugging-pipe" in argv and not any(a.startswith("--type=") for a in argv)]
    assert len(browsers) == 1, browsers
    return browsers[0]


def test_playwrights_own_disabled_features_are_kept(browser):
    # Chromium reads only the last --disable-features: ours must carry every one of Playwright's, whichever
    # Playwright is installed, or its fixes for automation (beforeunload dialogs, paint holding …) quietly go.
    lists = [arg.split("=", 1)[1].split(",") for arg in _browser_command_line()
             if arg.startswith("--disable-features=")]
    assert len(lists) >= 2, lists  # Playwright's, then ours
    missing = set(lists[0]) - set(lists[-1])
    assert not missing, f"add {sorted(missing)} to PLAYWRIGHT_DISABLED_FEATURES in tests/e2e/conftest.py"
    assert set(BROWSER_UI_FEATURES) <= set(lists[-1])


def test_a_new_page_starts_no_address_bar_popup(browser):
    # Each window of the full browser would preload its address-bar popup as a page in a renderer of its own;
    # if a Chromium update renames the features, this says so instead of the tests slowly getting slower.
    context = browser.new_context()
    try:
        context.new_page()
        time.sleep(0.5)
        popups = [argv for argv in _descendants().values() if "--top-chrome-webui" in argv]
    finally:
        context.close()
    assert popups == []
