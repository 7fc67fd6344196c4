"""Static checks in every test run: ruff with its security rules, bandit, and a reason on every suppression."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# "# noqa: S608 (why)" or "# nosec B608 # why": a suppression names what it silences and says why.
_NOQA = re.compile(r"#\s*noqa:\s*((?:S\d+[,\s]*)+)(.*)$")
_NOSEC = re.compile(r"#\s*nosec\b(.*)$")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def test_ruff_with_its_security_rules_finds_nothing():
    assert "S" in PYPROJECT["tool"]["ruff"]["lint"]["select"]
    done = run("ruff", "check", "app", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_bandit_finds_nothing_it_was_not_told_why():
    done = run("bandit", "-q", "-r", "app", "-c", "pyproject.toml", "-f", "json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_every_bandit_test_skipped_has_its_ruff_twin_on():
    twins = {"B105": "S105", "B106": "S106", "B107": "S107", "B311": "S311", "B404": "S603", "B603": "S603",
             "B608": "S608"}
    skips = PYPROJECT["tool"]["bandit"]["skips"]
    assert set(skips) <= set(twins), "a bandit skip without a ruff twin needs its own reason here"
    ignored = set(PYPROJECT["tool"]["ruff"]["lint"]["ignore"])
    assert not {twins[b] for b in skips} & ignored


def test_every_suppression_in_the_application_says_why():
    unexplained = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for pattern in (_NOQA, _NOSEC):
                match = pattern.search(line)
                if match and not re.search(r"\w{3,}", match.groups()[-1].replace("nosec", "")):
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)
