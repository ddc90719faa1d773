"""TOML configuration: every option has a key; a command-line option beats the file (docs/cli.md).

Layout: top-level keys apply to every command that has the option; a table named after the command
(``[measure]``, ``[compare.baseline]``) applies to that command only and beats the top level; the
``[columns]`` table is the ``--map`` renaming (``release_date = "date_out"``); the ``[inputs]`` table
names the inputs as the bulletin's config does (``releases``, ``convictions``, ``exclude_offences``, ...;
relative paths from the config's folder), so one file serves both. An unknown key or a value of the wrong
type is a usage error (exit 2) naming the key and its line.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..io import read_toml

COLUMNS_TABLE = "columns"
INPUTS_TABLE = "inputs"
# the keys of [inputs], as in the bulletin's config (reoffend/bulletin/config.py INPUTS_SCHEMA); paths among them
INPUT_KEYS = ("releases", "convictions", "exclude_offences", "extract_date", "input_format", "dedupe")
INPUT_PATHS = ("releases", "convictions", "exclude_offences")


def key_line(text: str, key: str, section: str | None = None) -> int | None:
    """The 1-based line where ``key`` is set (inside ``[section]`` when given), for error messages."""
    in_section = section is None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            name = stripped.strip("[] ").replace('"', "")
            in_section = section is not None and name == section
            continue
        if in_section and pattern.match(line):
            return number
    return None


def command_path(ctx: click.Context) -> list[str]:
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return list(reversed(names))


def config_defaults(ctx: click.Context, path: str) -> dict[str, Any]:
    """The default map for ``ctx.command`` from the config file at ``path``, checked key by key."""
    data, text = read_toml(path)
    params = _config_keys(ctx.command)
    section_name = ".".join(command_path(ctx))
    section: Any = data
    for part in command_path(ctx):
        section = section.get(part, {}) if isinstance(section, dict) else {}
    known_everywhere = _all_param_names(ctx)

    defaults: dict[str, Any] = {}
    sections = {name for name in data if isinstance(data[name], dict)}
    for key, value in data.items():
        if key in sections:
            continue
        name = key.replace("-", "_")
        if name not in known_everywhere:
            raise UsageError(_where(path, text, key, None) + f"unknown key {key!r}")
        if name in params:
            defaults[params[name].name] = _checked(ctx, params[name], value, path, text, key, None)
    defaults.update(_inputs_defaults(ctx, params, data.get(INPUTS_TABLE), path, text))
    if isinstance(section, dict) and section is not data:
        for key, value in section.items():
            if isinstance(value, dict):
                continue
            name = key.replace("-", "_")
            if name not in params:
                raise UsageError(_where(path, text, key, section_name) + f"unknown key {key!r} for '{section_name}'")
            defaults[params[name].name] = _checked(ctx, params[name], value, path, text, key, section_name)
    columns = data.get(COLUMNS_TABLE)
    if isinstance(columns, dict) and "map" in params:
        for canonical, extract in columns.items():
            if not isinstance(extract, str):
                raise UsageError(_where(path, text, canonical, COLUMNS_TABLE) + "a column name must be text")
        defaults.setdefault("column_map", [f"{k}={v}" for k, v in columns.items()])
    return defaults


def _inputs_defaults(ctx, params: dict[str, click.Parameter], table: Any, path: str, text: str) -> dict[str, Any]:
    """The ``[inputs]`` table: the command's input options, relative paths resolved from the config's folder."""
    if not isinstance(table, dict):
        return {}
    base = Path(path).resolve().parent if path != "-" else Path.cwd()
    defaults: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in INPUT_KEYS:
            raise UsageError(
                _where(path, text, key, INPUTS_TABLE) + f"unknown key {key!r} for 'inputs' ({', '.join(INPUT_KEYS)})"
            )
        if name not in params:
            continue  # e.g. exclude_offences for validate
        if isinstance(value, dt.date):
            value = value.isoformat()
        if name in INPUT_PATHS and isinstance(value, str) and value != "-":
            value = str(base / Path(value).expanduser())
        defaults[params[name].name] = _checked(ctx, params[name], value, path, text, key, INPUTS_TABLE)
    return defaults


def _checked(ctx, param: click.Parameter, value: Any, path: str, text: str, key: str, section: str | None) -> Any:
    if isinstance(value, list) and not param.multiple:
        value = ",".join(str(v) for v in value)
    try:
        param.type_cast_value(ctx, value)
    except click.BadParameter as error:
        raise UsageError(_where(path, text, key, section) + f"wrong value for {key!r}: {error.message}") from None
    return value


def _where(path: str, text: str, key: str, section: str | None) -> str:
    line = key_line(text, key, section)
    return f"{path}, line {line}: " if line else f"{path}: "


def _config_keys(command: click.Command) -> dict[str, click.Parameter]:
    """Config keys of a command: each option's long names (``per-release`` or ``per_release``) and its name."""
    keys: dict[str, click.Parameter] = {}
    for param in command.params:
        if not param.name or param.name == "config":
            continue
        if param.name.startswith("format_"):
            continue  # --csv/--json/--nl are shorthands of format
        keys[param.name] = param
        for opt in param.opts:
            if opt.startswith("--"):
                keys[opt[2:].replace("-", "_")] = param
    return keys


def _all_param_names(ctx: click.Context) -> set[str]:
    root = ctx.find_root().command
    names: set[str] = set()

    def walk(command: click.Command) -> None:
        names.update(_config_keys(command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub)

    walk(root)
    return names


def config_option(function):
    """``--config FILE``: read option defaults from a TOML file (processed before the other options)."""

    def load(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value:
            defaults = config_defaults(ctx, value)
            ctx.default_map = {**(ctx.default_map or {}), **defaults}
        return value

    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        is_eager=True,
        expose_value=True,
        callback=load,
        help="TOML file of option values (a command-line option beats it).",
    )(function)
