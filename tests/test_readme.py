"""The README is part of the product: its examples must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from frontdesk.storage.config import load_config
from frontdesk.tui.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_configuration_example_is_the_tested_full_example(tmp_path):
    block = re.search(r"```toml\n(.*?)```", README, re.DOTALL).group(1)
    assert block == (ROOT / "tests/fixtures/config/full.toml").read_text(encoding="utf-8")
    example = tmp_path / "config.toml"
    example.write_text(block, encoding="utf-8")
    assert load_config(example).customers[0].name == "Elite Co"


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^    (.+?)  # test$", README, re.MULTILINE)
    assert commands == ["bash tests/run"]
    assert (ROOT / "tests" / "run").read_text().rstrip().endswith('exec .venv/bin/python -m pytest "$@"')


def test_every_command_in_the_readme_exists():
    verbs = set(build_parser()._subparsers._group_actions[0].choices)
    synopsis = README.split("## Command line", 1)[1].split("```")[1]
    listed = set(re.findall(r"^frontdesk (?:\[[^\]]*\] )*([a-z]+)\b", synopsis, re.MULTILINE))
    assert len(listed) >= 8
    assert listed <= verbs, listed - verbs
