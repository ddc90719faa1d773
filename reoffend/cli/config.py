"""TOML configuration: every option has a key; a command-line option beats the file (docs/cli.md).

Layout: top-level keys apply to every command that has the option; a table named after the command
(``[measure]``, ``[compare.baseline]``) applies to that command only and beats the top level; the
``[columns]`` table is the ``--map`` renaming (``release_date = "date_out"``); the ``[inputs]`` table
names the inputs as the bulletin's config does (``releases``, ``convictions``, ``exclude_offences``, ...;
relative paths from the config's folder), so one file serves both. An unknown key or a value of the wrong
type, an unknown section or a key given twice is a usage error (exit 2) naming the key and its line. Relative
paths anywhere in the file resolve against the config file's folder, as in the bulletin's config.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..io import key_line, read_toml

COLUMNS_TABLE = "columns"
INPUTS_TABLE = "inputs"
# the keys of [inputs], as in the bulletin's config (reoffend/bulletin/config.py INPUTS_SCHEMA); paths among them
# allow_no_convictions is the bulletin's (a command warns instead): accepted, so one config serves both
# an [inputs] key a command without the option may not skip: sql once printed the same query with as_at as without
NEVER_SKIPPED = frozenset({"as_at"})
INPUT_KEYS = (
    "releases",
    "convictions",
    "exclude_offences",
    "extract_date",
    "as_at",
    "input_format",
    "delimiter",
    "encoding",
    "date_format",
    "dedupe",
    "allow_no_convictions",
)
INPUT_PATHS = ("releases", "convictions", "exclude_offences")


def command_path(ctx: click.Context) -> list[str]:
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return list(reversed(names))


def config_defaults(ctx: click.Context, path: str) -> dict[str, Any]:
    """The default map for ``ctx.command`` from the config file at ``path``, checked key by key.

    As strict as the bulletin's config (docs/cli.md, "Configuration"): an unknown section or key, a value of
    the wrong type (``follow_up = 12.9``) or one key given twice (``follow-up`` and ``follow_up``) is a usage
    error naming the key and its line. Relative paths resolve against the config file's folder.
    """
    data, text = read_toml(path)
    params = _config_keys(ctx.command)
    section_name = ".".join(command_path(ctx))
    _check_sections(ctx, data, path, text)
    section: Any = data
    for part in command_path(ctx):
        section = section.get(part, {}) if isinstance(section, dict) else {}
    known_everywhere = _all_param_names(ctx)
    base = Path(path).parent

    defaults: dict[str, Any] = {}
    sections = {name for name in data if isinstance(data[name], dict)}
    _check_twice(data, path, text, None)
    for key, value in data.items():
        if key in sections:
            continue
        name = key.replace("-", "_")
        if name not in known_everywhere:
            raise UsageError(_where(path, text, key, None) + f"unknown key {key!r}")
        if name in params:
            defaults[params[name].name] = _checked(ctx, params[name], value, path, text, key, None, base)
    defaults.update(_inputs_defaults(ctx, params, data.get(INPUTS_TABLE), path, text))
    if isinstance(section, dict) and section is not data:
        _check_twice(section, path, text, section_name)
        for key, value in section.items():
            if isinstance(value, dict):
                continue
            name = key.replace("-", "_")
            if name not in params:
                raise UsageError(_where(path, text, key, section_name) + f"unknown key {key!r} for '{section_name}'")
            defaults[params[name].name] = _checked(ctx, params[name], value, path, text, key, section_name, base)
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
            if name in NEVER_SKIPPED:  # it would change what is measured: never dropped without a word
                raise UsageError(
                    _where(path, text, key, INPUTS_TABLE)
                    + f"reoffend {ctx.command_path.split(' ', 1)[-1]} cannot apply {key!r} (it has no such option): "
                    "its result would silently differ from measure's; remove the key for this command"
                )
            continue  # e.g. exclude_offences for validate
        if isinstance(value, dt.date):
            value = value.isoformat()
        if name in INPUT_PATHS and isinstance(value, str) and value != "-":
            value = str(base / Path(value).expanduser())
        defaults[params[name].name] = _checked(ctx, params[name], value, path, text, key, INPUTS_TABLE, base)
    return defaults


def _check_sections(ctx: click.Context, data: dict, path: str, text: str) -> None:
    """Every table is ``[columns]`` or names a command (``[measure]``, ``[compare.baseline]``), and each
    command's table holds only that command's keys, each once."""
    root = ctx.find_root().command

    def walk(table: dict, command: click.Command, trail: list[str]) -> None:
        keys = _config_keys(command)
        name = ".".join(trail)
        _check_twice(table, path, text, name)
        for key, value in table.items():
            if isinstance(value, dict):
                sub = command.get_command(ctx, key) if isinstance(command, click.Group) else None
                if sub is None:
                    raise UsageError(_section_where(path, text, [*trail, key]) + f"unknown section [{name}.{key}]")
                walk(value, sub, [*trail, key])
            elif key.replace("-", "_") not in keys:
                raise UsageError(_where(path, text, key, name) + f"unknown key {key!r} for '{name}'")

    for key, value in data.items():
        if not isinstance(value, dict) or key in (COLUMNS_TABLE, INPUTS_TABLE):
            continue
        command = root.get_command(ctx, key) if isinstance(root, click.Group) else None
        if command is None:
            raise UsageError(_section_where(path, text, [key]) + f"unknown section [{key}]")
        walk(value, command, [key])


def _check_twice(table: dict, path: str, text: str, section: str | None) -> None:
    """``follow-up`` and ``follow_up`` in one table are the same key given twice."""
    seen: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            continue
        name = key.replace("-", "_")
        if name in seen:
            raise UsageError(_where(path, text, key, section) + f"{key!r} is given twice (also as {seen[name]!r})")
        seen[name] = key


def _section_where(path: str, text: str, trail: list[str]) -> str:
    wanted = ".".join(trail)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if stripped.startswith("[") and stripped.strip("[] ").replace('"', "").replace(" ", "") == wanted:
            return f"{path}, line {number}: "
    return f"{path}: "


PATH_ARGUMENTS = ("releases", "convictions")


def _checked(
    ctx, param: click.Parameter, value: Any, path: str, text: str, key: str, section: str | None, base: Path
) -> Any:
    where = _where(path, text, key, section)
    if isinstance(value, list) and not param.multiple:
        value = ",".join(str(v) for v in value)
    if isinstance(value, dt.date) and isinstance(param.type, click.DateTime):
        value = value.isoformat()
    wrong = _wrong_type(param, value)
    if wrong:
        raise UsageError(where + f"wrong value for {key!r}: {wrong}, not {value!r}")  # 12.9 is not 12
    try:
        param.type_cast_value(ctx, value)
    except click.BadParameter as error:
        raise UsageError(where + f"wrong value for {key!r}: {error.message}") from None
    if isinstance(value, str) and (isinstance(param.type, click.Path) or param.name in PATH_ARGUMENTS):
        value = _relative_to(base, value)
    return value


def _wrong_type(param: click.Parameter, value: Any) -> str | None:
    """What a TOML value should have been for ``param``, when its type is wrong (no silent ``int(12.9)``)."""
    kind = param.type
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(kind, click.types.BoolParamType):
            if not isinstance(item, bool):
                return "expected true or false"
        elif isinstance(item, bool):
            return "expected " + _expected(kind)
        elif isinstance(kind, click.types.IntParamType) and not isinstance(item, int):
            return "expected a whole number"
        elif isinstance(kind, click.types.FloatParamType) and not isinstance(item, int | float):
            return "expected a number"
        elif isinstance(kind, click.types.StringParamType | click.Choice | click.Path) and not isinstance(item, str):
            return "expected text"
    return None


def _expected(kind: click.ParamType) -> str:
    if isinstance(kind, click.types.IntParamType):
        return "a whole number"
    if isinstance(kind, click.types.FloatParamType):
        return "a number"
    return "text"


def _relative_to(base: Path, value: str) -> str:
    """A path from a config file, relative to the config's folder (``-`` and absolute paths as given)."""
    if value in ("", "-") or Path(value).is_absolute():
        return value
    return str(base / value)


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
        if getattr(param, "hidden", False):
            continue  # hidden: a shared option that means nothing for this command (cli.options.hide_options)
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
        type=click.Path(),
        is_eager=True,
        expose_value=True,
        callback=load,
        help="TOML file of option values (a command-line option beats it).",
    )(function)
