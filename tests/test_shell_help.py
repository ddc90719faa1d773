"""Help that teaches (issue 18): -V, examples as written, the shared exit statuses, shipped docs, completion."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest

from reoffend import __version__
from reoffend.cli import cli as root
from reoffend.cli.helptext import EXAMPLES, exit_statuses_text
from reoffend.errors import EXIT_STATUSES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "reoffend"


def all_commands() -> dict[str, click.Command]:
    """Every command by its path under reoffend ("" is reoffend itself), loaded as the command line does."""
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, path: list[str], ctx: click.Context) -> None:
        found[" ".join(path)] = command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name], click.Context(sub, info_name=name, parent=ctx))

    walk(root, [], click.Context(root, info_name="reoffend"))
    return found


COMMANDS = sorted(all_commands())


def test_minus_v_is_the_version(cli):
    status, out, _ = cli("-V")
    assert status == 0 and out == f"reoffend, version {__version__}\n"
    assert cli("--version")[1] == out


@pytest.mark.parametrize("path", COMMANDS)
def test_every_help_ends_with_its_examples_and_the_shared_exit_statuses(cli, monkeypatch, path):
    monkeypatch.setenv("COLUMNS", "60")  # narrow: any re-wrapped example would be split across lines
    status, out, _ = cli(*path.split(), "--help")
    assert status == 0
    lines = [line.strip() for line in out.splitlines()]
    examples = EXAMPLES.get(path)
    assert examples, f"reoffend {path} --help has no examples: add them to EXAMPLES in reoffend/cli/helptext.py"
    assert "Examples:" in lines
    for example in examples:
        assert example in lines, f"example not printed whole on one line: {example}"
    # the same exit-status block in every command, one status per line, every status of errors.py
    for code, meaning in EXIT_STATUSES.items():
        assert re.search(rf"^\s+{code}\s+{re.escape(meaning)}$", out, re.MULTILINE), (code, path)
    assert "Exit status:" in out and "reoffend docs cli" in out


def test_the_exit_status_text_is_one_text():
    epilogs = {command.epilog for command in all_commands().values()}
    assert all(exit_statuses_text() in epilog for epilog in epilogs if epilog)
    assert None not in epilogs


def test_the_exit_table_of_the_docs_lists_the_same_statuses():
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Exit status", 1)[1]
    codes = [int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)]
    assert codes == list(EXIT_STATUSES)


def _reoffend_args(example: str) -> list[str]:
    """The arguments after ``reoffend`` in an example's shell line (a pipeline's reoffend part)."""
    example = re.sub(r"<\([^)]*\)", "releases.csv", example.split("#", 1)[0])
    words = shlex.split(example)
    start = words.index("reoffend") + 1
    args = []
    for word in words[start:]:
        if word in ("|", "||", "&&", ">", ">>"):
            break
        args.append(word)
    return args


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_every_example_parses_with_the_options_it_names(path):
    """Each example's options exist and its values convert (parsed as the command line would, not run)."""
    commands = all_commands()
    for example in EXAMPLES[path]:
        if "_COMPLETE=" in example:
            continue
        args = _reoffend_args(example)
        words = [w for w in args if not w.startswith("-")]
        command_path = []
        for word in words:
            if " ".join([*command_path, word]) in commands:
                command_path.append(word)
            else:
                break
        command = commands[" ".join(command_path)]
        rest = args[len(command_path) :]
        if isinstance(command, click.Group):
            continue
        with command.make_context(command.name or "reoffend", list(rest)) as ctx:
            assert ctx.params is not None, example


def test_docs_lists_every_page_of_the_docs_folder(cli):
    status, out, _ = cli("docs")
    assert status == 0
    listed = [line.split()[0] for line in out.splitlines()[:-2] if line.strip()]
    assert listed == sorted(p.stem for p in (ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", sorted(p.stem for p in (ROOT / "docs").glob("*.md")))
def test_each_docs_page_is_printed_as_it_is(cli, page):
    status, out, _ = cli("docs", page)
    assert status == 0
    assert out == (ROOT / "docs" / f"{page}.md").read_text(encoding="utf-8")


def test_an_unknown_topic_is_a_usage_error_with_the_nearest_name(cli):
    status, _, err = cli("docs", "measure")
    assert status == 2 and "did you mean measures?" in err


def test_help_points_to_shipped_docs_not_checkout_paths(cli):
    for path in COMMANDS:
        _, out, _ = cli(*path.split(), "--help")
        assert "docs/" not in out, path


def test_the_treated_ids_help_says_which_releases_are_treated(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = cli("compare", "matched", "--help")
    assert "all their index releases are treated" not in out
    assert "which of their index releases are treated: --ids-releases" in out


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("reoffend comp", 1, "compare"),
        ("reoffend compare m", 2, "matched"),
        ("reoffend measure --inc", 2, "--incomplete"),
    ],
)
def test_bash_completion_completes_commands_and_options(words, cword, expected):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    env = {**os.environ, "_REOFFEND_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = subprocess.run([BIN], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0
    assert f"plain,{expected}" in result.stdout.splitlines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_completion_line_gives_a_script(shell):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    assert f"_REOFFEND_COMPLETE={shell}_source reoffend" in (ROOT / "docs" / "cli.md").read_text()
    env = {**os.environ, "_REOFFEND_COMPLETE": f"{shell}_source"}
    result = subprocess.run([BIN], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0 and "_REOFFEND_COMPLETE" in result.stdout


@pytest.mark.slow
def test_the_built_wheel_carries_every_docs_page(tmp_path):
    """Built as pip builds it: every docs/*.md is inside the wheel, and `reoffend docs` reads it from there."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr.strip().splitlines()[-1:]}")
    wheel = next(tmp_path.glob("reoffend-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for page in (ROOT / "docs").glob("*.md"):
        assert f"reoffend/docs/{page.name}" in names
    program = (
        "import reoffend, sys; assert reoffend.__file__.startswith(sys.argv[1]), reoffend.__file__; "
        "from reoffend.cli import main; main(['docs', 'cli'])"
    )
    # -S: no site-packages processing, so the checkout's editable install cannot answer instead of the wheel;
    # the dependencies come from this environment's site-packages, after the unpacked wheel
    dependencies = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), *dependencies])}
    result = subprocess.run(
        [sys.executable, "-S", "-c", program, str(tmp_path / "site")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
