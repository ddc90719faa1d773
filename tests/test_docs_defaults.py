"""Every default the documents state is the default the code applies (issue 28: docs users audit from must be
exact). Two sources of statements are checked mechanically:

- the bulletin's example config (``bulletin --example-config``, docs/bulletin.md), whose header says "the values
  shown are the defaults unless marked example": each such line, written into a config, must change nothing;
  a comparison section's stated defaults must be the defaults of the same ``compare`` command's option;
- the prose of the command documents: "`--ratio` (default 10" and "default `--alpha 0.05`" are compared with
  the click option's default.
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import click
import pytest

from reoffend.bulletin.config import EXAMPLE_CONFIG, parse_config
from reoffend.cli import cli
from reoffend.disclosure import DisclosureRule

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^#?\s*([a-z_]+)\s*=\s*(.+?)\s*(?:#\s*(.*))?$")
SECTION = re.compile(r"^#?\s*\[([a-z_.]+)\]")
REQUIRED = ("releases", "convictions")


# stated with the condition under which it holds, which the code resolves later (the line's comment says it)
CONDITIONAL = {
    ("measure", "establishment"): "default: establishment when the releases have it",
    ("disclosure", "protection"): "default: min_count",
}


def stated_defaults() -> dict[str, dict[str, object]]:
    """section -> key -> value, for every line of the example config not marked "example"."""
    found: dict[str, dict[str, object]] = {}
    section = ""
    for raw in EXAMPLE_CONFIG.splitlines():
        header = SECTION.match(raw)
        if header:  # a section marked "example" on its header line is an example throughout
            section = header.group(1) if "example" not in raw.split("]", 1)[1] else "(example)"
            continue
        if section == "(example)":
            continue
        line = LINE.match(raw)
        if not line or "example" in (line.group(3) or "") or line.group(1) in REQUIRED:
            continue
        if (section, line.group(1)) in CONDITIONAL:
            assert CONDITIONAL[section, line.group(1)].split(": ")[1].split()[0] in EXAMPLE_CONFIG
            continue
        value = tomllib.loads(f"v = {line.group(2)}")["v"]
        found.setdefault(section, {})[line.group(1)] = value
    return found


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def test_the_example_config_states_defaults_for_every_section():
    stated = stated_defaults()
    assert {"", "inputs", "measure", "disclosure", "provisional"} <= set(stated)
    assert stated["measure"]["follow_up"] == 12 and stated["measure"]["waiting_period"] == 6
    assert {"baseline", "matched", "adjusted"} <= {s.split(".")[-1] for s in stated if s.startswith("comparisons")}


SECTIONS = [s for s in stated_defaults() if not s.startswith("comparisons")]


@pytest.mark.parametrize("section", SECTIONS)
def test_a_stated_default_written_into_the_config_changes_nothing(tmp_path, section):
    defaults = stated_defaults()[section]
    head = '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n'
    plain = head + (f"[{section}]\n" if section and section != "inputs" else "")
    lines = "".join(f"{key} = {toml_value(value)}\n" for key, value in defaults.items())
    if section == "":
        stated = lines + head
    elif section == "inputs":
        stated = head + lines
    else:
        stated = plain + lines
    (tmp_path / "plain.toml").write_text(plain)
    (tmp_path / "stated.toml").write_text(stated)
    with_defaults = replace(parse_config(str(tmp_path / "stated.toml")), path="")
    assert with_defaults == replace(parse_config(str(tmp_path / "plain.toml")), path=""), lines


def command(*names: str) -> click.Command:
    context = click.Context(cli)
    found: click.Command = cli
    for name in names:
        found = found.get_command(context, name)  # type: ignore[attr-defined]
    return found


def option_default(cmd: click.Command, key: str) -> object:
    context = click.Context(cmd)
    for param in cmd.params:
        if param.name == key or f"--{key.replace('_', '-')}" in param.opts:
            return param.get_default(context, call=False)
    raise AssertionError(f"{cmd.name} has no option for {key!r}")


def same(stated: object, default: object) -> bool:
    if isinstance(stated, list):
        stated = ",".join(str(v) for v in stated)
    if isinstance(default, list | tuple):
        default = ",".join(str(v) for v in default)
    if isinstance(stated, bool) or isinstance(default, bool):
        return bool(stated) == bool(default)
    try:
        return float(str(stated)) == float(str(default))
    except ValueError:
        return str(stated).lower() == str(default).lower()


# keys whose stated default is not an option default: the bulletin decides them itself
BULLETIN_OWN = {"current", "cohorts", "site_column"}


@pytest.mark.parametrize("name", ["baseline", "matched", "adjusted"])
def test_a_comparison_sections_stated_defaults_are_its_commands_defaults(name):
    stated = stated_defaults()[f"comparisons.{name}"]
    cmd = command("compare", name)
    checked = [key for key in stated if key not in BULLETIN_OWN]
    assert checked, name
    for key in checked:
        assert same(stated[key], option_default(cmd, key)), (name, key, stated[key], option_default(cmd, key))


# prose: each document describes one command
DOCUMENT_COMMANDS = {
    "comparisons-baseline.md": ("compare", "baseline"),
    "comparisons-matched.md": ("compare", "matched"),
    "comparisons-adjusted.md": ("compare", "adjusted"),
    "nowcast.md": ("nowcast",),
    "measures.md": ("measure",),
    "power.md": ("power",),
    "synth.md": ("synth",),
}
OPTION_THEN_DEFAULT = re.compile(r"`(--[a-z-]+)`[^.;`]{0,40}?\(default:?\s+(?:`([^`]+)`|([0-9][0-9.]*))")
DEFAULT_THEN_OPTION = re.compile(r"default[^.;`]{0,30}?`(--[a-z-]+)[ =]([^`]+)`")
# "`--alpha` (0.05)", "`--final-cohorts` (4)": a number in brackets right after the option is its default
OPTION_THEN_NUMBER = re.compile(r"`(--[a-z-]+)` \(([0-9][0-9.]*)\)")


def prose_defaults() -> list[tuple[str, str, str]]:
    found = []
    for name in DOCUMENT_COMMANDS:
        text = " ".join((ROOT / "docs" / name).read_text(encoding="utf-8").split())
        for pattern in (OPTION_THEN_DEFAULT, DEFAULT_THEN_OPTION, OPTION_THEN_NUMBER):
            found += [(name, option, "".join(values)) for option, *values in pattern.findall(text)]
    return found


PROSE = prose_defaults()
# options with no click default because giving them alone is a usage error; the command applies this default
RESOLVED_IN_CODE = {("measure", "--min-count"): DisclosureRule().min_count}


def test_the_prose_states_defaults_the_test_reads():
    assert len(PROSE) >= 8, PROSE


@pytest.mark.parametrize(("document", "option", "value"), PROSE, ids=[f"{d}:{o}" for d, o, _ in PROSE])
def test_a_default_stated_in_the_prose_is_the_options_default(document, option, value):
    cmd = command(*DOCUMENT_COMMANDS[document])
    default = RESOLVED_IN_CODE.get((" ".join(DOCUMENT_COMMANDS[document]), option))
    if default is None:
        default = option_default(cmd, option[2:].replace("-", "_"))
    if callable(default) or default is None or isinstance(default, enum.Enum):
        pytest.fail(f"{document}: {option} has no fixed default (it says {value!r})")
    assert same(value, default), (document, option, value, default)
