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


def run_block(block: Block) -> list[str]:
    """Each command's combined output as the shell prints it (stdout; stderr only where the command redirects)."""
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
                ["bash", "-c", example.command],
                cwd=directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            outputs.append(normalise(done.stdout))
    return outputs


def normalise(text: str) -> str:
    """Trailing spaces (rich pads its lines to the width) are not part of what a reader sees."""
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


BLOCKS = blocks()


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_console_example_output_is_what_the_command_prints(block):
    outputs = run_block(block)
    for example, output in zip(block.examples, outputs, strict=True):
        assert output == normalise(example.output), f"{block.name}: $ {example.command}"


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
            body = "".join(f"$ {e.command}\n{o}" for e, o in zip(block.examples, outputs, strict=True))
            text = text[: block.start] + body + text[block.end :]
        path.write_text(text, encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)} ({len(found)} block(s))")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_docs_examples.py --update")
    update()
