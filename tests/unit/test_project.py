"""Promises about the project itself: CI runs the README's test command."""
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def readme_commands():
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_two_commands_and_ci_runs_the_second():
    first, second = readme_commands()[:2]
    assert "inv lab.up" in first
    assert "pytest" in second
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert second in ci, f".ci/run does not run the README's test command {second!r}"
