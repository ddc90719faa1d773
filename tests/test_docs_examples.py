"""The console examples of README.md and docs/*.md are run, and their output must match (as sqlite-utils does
with cog): a ```console block holds ``$ command`` lines (``\\`` continues a line) each followed by its output.

Each block runs in its own temporary directory that links ``data/`` to the repository's, with the
virtual environment's ``reoffend`` first on PATH, ``COLUMNS=120`` and no colour. Commands within a block share
the directory (a later one may read what an earlier one wrote). To refresh the documents after a deliberate
change of output: ``python tests/test_docs_examples.py --update`` (then read the diff).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.S | re.M)


@dataclass
class Example:
    command: str
    output: str


@dataclass
class Block:
    path: Path
    start: int  # offset of the block's body in the document
    end: int
    line: int
    examples: list[Example]

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse(body: str) -> list[Example]:
    examples: list[Example] = []
    lines = body.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError(f"console block line does not start with '$ ': {lines[i]!r}")
        command = lines[i][2:]
        while command.rstrip("\n").endswith("\\"):
            i += 1
            command += lines[i]
        i += 1
        output = ""
        while i < len(lines) and not lines[i].startswith("$ "):
            output += lines[i]
            i += 1
        examples.append(Example(command.rstrip("\n"), output))
    return examples


def blocks() -> list[Block]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(path, match.start(1), match.end(1), line, parse(match.group(1))))
    return found


@dataclass
class Ran:
    output: str  # standard output, as the shell prints it (stderr only where the command redirects it)
    status: int  # the exit status, with pipefail: a failure early in a pipeline is not hidden by `| tail`


def run_block(block: Block) -> list[Ran]:
    """Each command's output and exit status, run as ``bash -o pipefail -c COMMAND``."""
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "COLUMNS": "120",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "LC_ALL": "C.UTF-8",
        }
    )
    env.pop("FORCE_COLOR", None)
    outputs = []
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "data").symlink_to(ROOT / "data")
        for example in block.examples:
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", example.command],
                cwd=directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            outputs.append(Ran(normalise(done.stdout), done.returncode))
    return outputs


def normalise(text: str) -> str:
    """Trailing spaces (rich pads its lines to the width) are not part of what a reader sees."""
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


BLOCKS = blocks()


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_console_example_output_is_what_the_command_prints(block):
    """Every command of a console block exits 0 and prints what the document shows. An example of a failure
    shows its status itself (``... ; echo "exit $?"``), so a reader sees it, and the example still exits 0."""
    outputs = run_block(block)
    for example, ran in zip(block.examples, outputs, strict=True):
        assert ran.status == 0, f"{block.name}: $ {example.command} exited {ran.status}"
        assert ran.output == normalise(example.output), f"{block.name}: $ {example.command}"


def test_an_example_that_fails_without_output_is_caught_by_its_status():
    # docs/nowcast.md once read a folder an earlier block had written: no output (as shown) and exit 66
    block = Block(
        ROOT / "README.md", 0, 0, 1, parse("$ reoffend nowcast slow/releases.csv slow/convictions.csv | tail -2\n")
    )
    (ran,) = run_block(block)
    assert ran.output == normalise(block.examples[0].output) == ""  # the output alone would have passed
    assert ran.status == 66  # pipefail: `| tail` does not hide it


def test_every_document_with_commands_has_console_blocks_that_parse():
    assert any(b.path.name == "README.md" for b in BLOCKS)
    assert all(b.examples for b in BLOCKS)


def update() -> None:
    """Rewrite every console block's output with what its commands print now."""
    by_path: dict[Path, list[Block]] = {}
    for block in BLOCKS:
        by_path.setdefault(block.path, []).append(block)
    for path, found in by_path.items():
        text = path.read_text(encoding="utf-8")
        for block in reversed(found):
            outputs = run_block(block)
            body = "".join(f"$ {e.command}\n{o.output}" for e, o in zip(block.examples, outputs, strict=True))
            text = text[: block.start] + body + text[block.end :]
        path.write_text(text, encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)} ({len(found)} block(s))")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_docs_examples.py --update")
    update()
