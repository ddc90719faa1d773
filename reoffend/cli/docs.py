"""``reoffend docs [TOPIC]``: the documentation shipped inside the package, readable wherever it is installed.

The pages are the project's ``docs/*.md``; the package reaches them as ``reoffend/docs`` (a link to
``docs/`` in a checkout, copied into the wheel by MANIFEST.in), so ``--help`` can point to
``reoffend docs TOPIC`` rather than to paths that exist only in a checkout.
"""

from __future__ import annotations

import difflib
import sys
from importlib import resources
from importlib.abc import Traversable

import click

from ..errors import OutputClosed, UsageError


def pages() -> dict[str, Traversable]:
    """Topic name (the file's stem) to its page, sorted by name."""
    folder = resources.files("reoffend") / "docs"
    found = {entry.name[: -len(".md")]: entry for entry in folder.iterdir() if entry.name.endswith(".md")}
    return dict(sorted(found.items()))


SCHEMA = "output.schema.json"  # the JSON Schema of every command's --json document (docs/cli.md links it)


def schema() -> Traversable:
    return resources.files("reoffend") / "docs" / SCHEMA


def title(page: Traversable) -> str:
    """The page's first heading, without its ``#``."""
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


@click.command("docs")
@click.argument("topic", required=False)
def docs(topic: str | None) -> None:
    """Print a documentation page (Markdown) shipped with reoffend; without TOPIC, list the topics.
    ``reoffend docs output.schema.json`` prints the JSON Schema the --json documents follow."""
    available = pages()
    if topic is None:
        width = max(len(name) for name in available)
        text = "".join(f"{name:<{width}}  {title(page)}\n" for name, page in available.items())
        text += "\nreoffend docs TOPIC prints one (e.g. reoffend docs cli | less).\n"
        text += f"reoffend docs {SCHEMA} prints the JSON Schema of the --json documents.\n"
    elif topic.removeprefix("docs/") == SCHEMA:
        text = schema().read_text(encoding="utf-8")
    else:
        name = topic.removesuffix(".md").removeprefix("docs/")
        if name not in available:
            near = difflib.get_close_matches(name, available, n=3, cutoff=0.4)
            hint = f"; did you mean {' or '.join(near)}?" if near else ""
            raise UsageError(f"no documentation topic {topic!r}{hint} (topics: {', '.join(available)})")
        text = available[name].read_text(encoding="utf-8")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed("standard output was closed") from None
