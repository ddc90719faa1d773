"""The bulletin as structured content, rendered to Markdown and to HTML from the same blocks.

Writing both formats from one list of blocks keeps ``bulletin.md`` and ``index.html`` saying the same thing
and needs no Markdown library: the HTML is generated directly (every text escaped).

The text of a block is plain text, which may hold values from the data (a cohort label, an establishment): in
both formats every character of it means itself (HTML-escaped, Markdown-escaped), so a label such as
``[x](https://evil.example)`` or ``<img onerror=...>`` is shown, never a link or a tag. The program's own
emphasis, code and links are marked by :func:`strong`, :func:`code` and :func:`link`, with characters no text
uses; a link's address is written only when it is http(s) or mailto (:func:`safe_url`).
"""

from __future__ import annotations

import base64
import html
import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..errors import escape_controls

# the program's own markup in a block's text (private-use characters: no data of ours holds them)
BOLD, CODE, LINK_OPEN, LINK_MID, LINK_CLOSE = "\ue000", "\ue001", "\ue002", "\ue003", "\ue004"
LINK = re.compile(f"{LINK_OPEN}(.*?){LINK_MID}(.*?){LINK_CLOSE}", re.DOTALL)
SAFE_SCHEMES = ("http", "https", "mailto")


def data_link(caption: str) -> str:
    """The words of a table's link to its exact values: "Table 3 as a CSV file", no file name."""
    number = caption.split(":", 1)[0] if re.match(r"Table \d+:", caption) else "this table"
    return f"Download {number} as a CSV file"


def strong(text: str) -> str:
    """``text`` in bold (Markdown ``**``, HTML ``<strong>``)."""
    return f"{BOLD}{text}{BOLD}"


def code(text: str) -> str:
    """``text`` as code (a file name): shown as is, in backticks or ``<code>``."""
    return f"{CODE}{text}{CODE}"


def link(text: str, url: str) -> str:
    """A link to ``url`` reading ``text``; an address that is not http(s) or mailto is written as text only."""
    return f"{LINK_OPEN}{text}{LINK_MID}{url}{LINK_CLOSE}"


def safe_url(url: str) -> bool:
    """An http(s) address with a host, or a mailto one, with no space or control character: what a published
    page may link to (never ``javascript:``, ``data:`` or a relative path)."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.netloc)
    return parts.scheme.lower() == "mailto" and bool(parts.path)


def _marked(text: str, plain: Callable[[str], str], code_span: Callable[[str], str], anchor: Callable) -> str:
    """``text`` rendered: its plain runs through ``plain`` (escaping), code through ``code_span``, links through
    ``anchor(label, url)`` when the address is safe (else the label as plain text); bold is left as :data:`BOLD`."""
    out = []
    for index, part in enumerate(text.split(CODE)):
        if index % 2:
            out.append(code_span(part))
            continue
        position = 0
        for found in LINK.finditer(part):
            out.append(plain(part[position : found.start()]))
            label, url = found.group(1), found.group(2)
            out.append(anchor(plain(label), url) if safe_url(url) else plain(label))
            position = found.end()
        out.append(plain(part[position:]))
    return "".join(out)


# ----------------------------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]


@dataclass(frozen=True)
class KeyFigure:
    value: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class KeyFigures:
    figures: Sequence[KeyFigure]


@dataclass(frozen=True)
class Table:
    caption: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    source: str = ""  # the CSV under tables/ holding the exact values
    numeric: Sequence[bool] = ()
    highlight_last: bool = False


@dataclass(frozen=True)
class Figure:
    name: str  # figures/<name>.png and .svg
    caption: str
    alt: str
    png: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class Definitions:
    items: Sequence[tuple[str, str]]


Block = Heading | Paragraph | Bullets | KeyFigures | Table | Figure | Definitions


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block]
    footer: str = ""
    meta: Sequence[tuple[str, str]] = ()  # publication furniture under the title: (term, value)


ADDRESS = re.compile(f"{LINK_MID}[^{LINK_CLOSE}]*{LINK_CLOSE}")  # a link's address, between its markers


def _outside_addresses(change: Callable[[str], str]) -> Callable[[str], str]:
    """``change`` applied to a text's words, never to a link's address (:func:`link`)."""

    def changed(text: str) -> str:
        pieces, last = [], 0
        for found in ADDRESS.finditer(text):
            pieces += [change(text[last : found.start()]), found.group()]
            last = found.end()
        return "".join([*pieces, change(text[last:])])

    return changed


def replace_text(document: Document, change: Callable[[str], str]) -> Document:
    """``document`` with ``change`` applied to every piece of its prose: subtitle, furniture, headings,
    paragraphs, bullets, cards, definitions, captions, alt texts and the numeric cells of tables (never a
    table's label cells, which are values from the data). A link's address is never changed, only its words:
    a methodology address holding a cohort code (``.../2023Q3/method``) stays the address it is."""
    change = _outside_addresses(change)

    def block_text(block: Block) -> Block:
        if isinstance(block, Heading):
            return replace(block, text=change(block.text))
        if isinstance(block, Paragraph):
            return replace(block, text=change(block.text))
        if isinstance(block, Bullets):
            return replace(block, items=[change(item) for item in block.items])
        if isinstance(block, KeyFigures):
            return replace(
                block,
                figures=[KeyFigure(change(f.value), change(f.label), change(f.detail)) for f in block.figures],
            )
        if isinstance(block, Definitions):
            return replace(block, items=[(term, change(text)) for term, text in block.items])
        if isinstance(block, Figure):
            return replace(block, caption=change(block.caption), alt=change(block.alt))
        numeric = list(block.numeric) or [False] * len(block.columns)
        rows = [[change(v) if n else v for v, n in zip(row, numeric, strict=True)] for row in block.rows]
        return replace(block, caption=change(block.caption), rows=rows)

    return replace(
        document,
        subtitle=change(document.subtitle),
        blocks=[block_text(block) for block in document.blocks],
        meta=[(term, change(value)) for term, value in document.meta],
        footer=change(document.footer),
    )


def numbered(blocks: Sequence[Block]) -> list[Block]:
    """Figures and tables numbered in order of appearance ("Figure 1: ...", "Table 1: ...")."""
    out: list[Block] = []
    figures = tables = 0
    for block in blocks:
        if isinstance(block, Figure):
            figures += 1
            block = replace(block, caption=f"Figure {figures}: {block.caption}")
        elif isinstance(block, Table):
            tables += 1
            block = replace(block, caption=f"Table {tables}: {block.caption}")
        out.append(block)
    return out


def contents(blocks: Sequence[Block]) -> list[tuple[str, str]]:
    """(anchor, text) of every second-level heading that has an anchor, in order."""
    return [(b.anchor, b.text) for b in blocks if isinstance(b, Heading) and b.level == 2 and b.anchor]


# --------------------------------------------------------------------------------------------- markdown
# what would be Markdown in a text: backslash, code, emphasis, strikethrough and link brackets; an underscore at
# a word's edge; the start of a tag, comment or autolink; an entity; an address GitHub would link by itself. The
# shorthand [c], [x], [z] stays as written while nothing after it could make it a link.
MARKDOWN = re.compile(
    r"\[[cxz]\](?![\[(:])|[\\`*~\[\]]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|<(?=[A-Za-z/!?])|&(?=#?[0-9A-Za-z]+;)"
    r"|:(?=//)|(?<=www)\.|[\r\n]"
)


def md_text(text: str) -> str:
    """Plain text (perhaps a value from the data) for Markdown: every character means itself."""

    def escaped(found: re.Match) -> str:
        mark = found.group()
        if len(mark) == 3:
            return mark
        return {"<": "&lt;", "&": "&amp;", "\r": " ", "\n": " "}.get(mark, "\\" + mark)

    # a control character (ESC, U+0001) or a noncharacter is shown as an escape, as in the charts and messages
    return escape_controls(MARKDOWN.sub(escaped, text))


def _md(text: str) -> str:
    def anchor(label: str, url: str) -> str:
        return f"[{label}]({urllib.parse.quote(url, safe=':/?#@!$&*+,;=%~-._')})"

    return _marked(text, md_text, lambda part: f"`{escape_controls(part)}`", anchor).replace(BOLD, "**")


def _md_cell(text: str) -> str:
    return _md(text).replace("|", "\\|")


def to_markdown(document: Document) -> str:
    lines = [f"# {_md(document.title)}", "", _md(document.subtitle), ""]
    if document.meta:
        lines += [f"- **{_md(term)}:** {_md(value)}" for term, value in document.meta] + [""]
    for block in numbered(document.blocks):
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + _md(block.text), ""]
        elif isinstance(block, Paragraph):
            lines += [_md(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md(item)}" for item in block.items] + [""]
        elif isinstance(block, KeyFigures):
            for figure in block.figures:
                detail = f" ({_md(figure.detail)})" if figure.detail else ""
                lines.append(f"- **{_md(figure.value)}** {_md(figure.label)}{detail}")
            lines.append("")
        elif isinstance(block, Table):
            lines += [f"**{_md(block.caption)}**", ""]
            numeric = list(block.numeric) or [False] * len(block.columns)
            lines.append("| " + " | ".join(_md_cell(c) for c in block.columns) + " |")
            lines.append("|" + "|".join("---:" if n else ":---" for n in numeric) + "|")
            lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in block.rows]
            if block.source:
                lines += ["", f"[{data_link(block.caption)}](tables/{urllib.parse.quote(block.source)})"]
            lines.append("")
        elif isinstance(block, Figure):
            lines += [f"![{_md(block.alt)}](figures/{block.name}.png)", "", f"*{_md(block.caption)}*", ""]
        elif isinstance(block, Definitions):
            lines += [f"- **{_md(term)}**: {_md(text)}" for term, text in block.items] + [""]
    if document.footer:
        lines += ["---", "", _md(document.footer), ""]
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------- html
CSS = """
:root { --ink:#1b1b1b; --muted:#505a5f; --rule:#b1b4b6; --accent:#1d70b8; --band:#f3f2f1; --dark:#0b0c0c; }
* { box-sizing: border-box; }
body { margin:0; font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color:var(--ink);
       line-height:1.5; background:#fff; font-size:17px; }
header.masthead { background:var(--dark); color:#fff; padding:18px 0 22px; border-bottom:8px solid var(--accent); }
.wrap { max-width: 1040px; margin: 0 auto; padding: 0 28px; }
.masthead .kicker { font-size:15px; letter-spacing:.04em; text-transform:uppercase; color:#dfe3e6; margin:0 0 6px; }
.masthead h1 { font-size:34px; line-height:1.15; margin:0 0 8px; }
.masthead .subtitle { margin:0; color:#e8eaeb; font-size:17px; }
main { padding: 10px 0 40px; }
h2 { font-size:25px; margin:38px 0 10px; padding-top:10px; border-top:2px solid var(--rule); }
h3 { font-size:20px; margin:26px 0 8px; }
p { margin: 0 0 14px; max-width: 48em; }
ul.bullets { padding-left: 22px; max-width: 50em; }
ul.bullets li { margin-bottom: 8px; }
.keyfigures { display:grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap:14px; margin:18px 0 22px; }
.keyfigure { background:var(--band); border-left:6px solid var(--accent); padding:12px 14px; }
.keyfigure .value { font-size:34px; font-weight:700; line-height:1.1; }
.keyfigure .label { font-size:16px; margin-top:4px; }
.keyfigure .detail { font-size:14px; color:var(--muted); margin-top:4px; }
figure { margin: 18px 0 26px; }
figure img { max-width:100%; height:auto; border:1px solid #e5e6e7; }
figcaption { font-size:15px; color:var(--muted); margin-top:6px; max-width:48em; }
figcaption a, .source a { color:var(--accent); }
table { border-collapse:collapse; margin: 8px 0 6px; font-size:14px; font-variant-numeric: tabular-nums; }
caption { text-align:left; font-weight:700; font-size:16px; padding-bottom:6px; }
th, td { padding:6px 12px 6px 0; border-bottom:1px solid var(--rule); vertical-align:top; }
td { white-space:nowrap; }
th { vertical-align:bottom; }
th { text-align:left; border-bottom:2px solid var(--ink); font-weight:700; }
td.num, th.num { text-align:right; padding-left:10px; }
tr.latest td { font-weight:700; background:#eef5fb; }
.source { font-size:14px; color:var(--muted); margin:0 0 22px; }
.table-scroll { overflow-x:auto; }
dl.definitions dt { font-weight:700; margin-top:10px; }
dl.definitions dd { margin:2px 0 0 0; max-width:48em; }
p.note { font-size:15px; color:var(--muted); }
nav.contents { margin:22px 0 0; padding:12px 16px; background:var(--band); }
nav.contents h2 { font-size:16px; margin:0 0 4px; padding:0; border:0; }
nav.contents ol { margin:0; padding-left:20px; columns:2; font-size:15px; }
nav.contents a { color:var(--accent); display:inline-block; min-height:24px; padding:2px 0; vertical-align:top; }
@media (max-width: 640px) { nav.contents ol { columns:1; } }  /* a phone: one column, each number by its line */
nav.contents li { margin:2px 0; }
footer { border-top:2px solid var(--rule); color:var(--muted); font-size:14px; padding:14px 0 30px; }
dl.meta { display:grid; grid-template-columns:max-content auto; gap:2px 12px; margin:14px 0 0; font-size:15px; }
dl.meta dt { color:#dfe3e6; }
dl.meta dd { margin:0; font-weight:700; }
tbody th { font-weight:400; border-bottom:1px solid var(--rule); white-space:nowrap; vertical-align:top; }
tr.latest th { font-weight:700; background:#eef5fb; }
.vh { position:absolute; width:1px; height:1px; overflow:hidden; clip-path:inset(50%); white-space:nowrap; }
.skip { position:absolute; left:-9999px; }
.skip:focus { left:8px; top:8px; background:#fd0; color:#0b0c0c; padding:6px 10px; z-index:10; }
.table-scroll:focus { outline:3px solid #fd0; }

/* Print (and PDF), issue 26: no page left 40% blank, a heading kept with its paragraph and figure, page
   numbers and the publication date on every page (the @page margin boxes are written by print_margins).
   No forced page break anywhere: a figure is never split and at most ~90 mm tall (its heading, paragraph and
   caption with it stay under half a page), a short table is never split, a long one breaks between rows
   and repeats its header. */
@page { size: A4; margin: 14mm 12mm 18mm; }
@media print {
  body { font-size:10.5pt; line-height:1.35; }
  .wrap { max-width:none; padding:0; }
  header.masthead { background:none; color:var(--ink); border-bottom:3pt solid var(--ink); padding:0 0 8pt; }
  .masthead .kicker, .masthead .subtitle, dl.meta dt { color:var(--ink); }
  .masthead h1 { font-size:22pt; }
  nav.contents, .skip { display:none; }
  h2 { font-size:15pt; margin:14pt 0 6pt; padding-top:6pt; break-after:avoid; page-break-after:avoid; }
  h3 { break-after:avoid; page-break-after:avoid; }
  h2, h3, caption, dt { break-inside:avoid; page-break-inside:avoid; }
  p, li, dd { orphans:3; widows:3; }
  ul.bullets li, .keyfigure { break-inside:avoid; page-break-inside:avoid; }
  dl.definitions dt { break-after:avoid; page-break-after:avoid; }
  .keyfigures { grid-template-columns: repeat(4, 1fr); gap:8pt; break-inside:avoid; }
  .keyfigure { border:1pt solid var(--rule); border-left:4pt solid var(--ink); }
  .keyfigure .value { font-size:18pt; }
  /* a figure is never split, and a heading, its paragraph and its figure are one unit (div.keep, written by
     kept_together) that is never split either: the unit moves to the next page whole, never leaving its
     heading at the foot of a page. A unit is at most about half a page (figures at most 90 mm; a chart
     taller than wide, a ranked list of many groups, at most 110 mm under a heading of its own), so the page
     it leaves is never more than 40% blank. */
  figure, div.keep { break-inside:avoid; page-break-inside:avoid; }
  figure { margin:6pt 0 10pt; text-align:center; }
  figure img { max-width:100%; max-height:90mm; width:auto; height:auto; border:0; }
  figure.tall img { max-height:110mm; }
  figcaption { text-align:left; max-width:none; margin-top:2pt; font-size:9pt; }
  figcaption a, .source a { color:var(--ink); }
  figcaption .downloads, .source { display:none; }  /* links to files mean nothing on paper */
  .table-scroll { overflow:visible; }
  table { width:100%; font-size:8pt; break-inside:auto; page-break-inside:auto; }
  caption { font-size:10pt; break-after:avoid; page-break-after:avoid; }
  thead { display:table-header-group; }
  tr, th, td { break-inside:avoid; page-break-inside:avoid; }
  th, td { white-space:normal; padding:2pt 5pt 2pt 0; }
  tbody th { white-space:nowrap; }
  table.short { break-inside:avoid; page-break-inside:avoid; }
  .source { margin:0 0 10pt; font-size:8pt; }
  tr.latest td, tr.latest th { background:none; }
  /* the footer line never takes a page alone (issue 26 review, item 9): it keeps with the content before it,
     which gives up its last lines to the footer's page rather than leave a page holding only the footer */
  main { padding-bottom:0; }
  footer { font-size:8pt; padding:6pt 0 0; break-before:avoid; page-break-before:avoid; break-inside:avoid; }
}
"""


PRINT_FONT = 'font: 8pt "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: #505a5f;'
SHORT_TABLE_ROWS = 15  # a table of at most this many rows is never split in print (about a third of a page)
TALL_FIGURE = 1.5  # an image at least this many times as tall as wide prints up to a page (figure.tall); a
# shorter one (a breakdown of eight bands, about 1.1) keeps to 90 mm and stays with its heading and paragraph


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: quotes and backslashes escaped, every character outside printable
    ASCII (a newline, ``<`` of ``</style>``) written as a hexadecimal escape, so no text ends the rule."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isprintable() and ch not in '"\\<>&':
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return '"' + "".join(out) + '"'


def print_margins(document: Document) -> str:
    """The ``@page`` margin boxes of the printed bulletin: "Page N of M" bottom right and the publication
    date (the "Published" item of the furniture, when there is one) bottom left, on every page."""
    published = dict(document.meta).get("Published", "")
    boxes = f'@bottom-right {{ content: "Page " counter(page) " of " counter(pages); {PRINT_FONT} }}'
    if published:
        boxes += f" @bottom-left {{ content: {css_string('Published ' + published)}; {PRINT_FONT} }}"
    return f"@page {{ {boxes} }}"


def png_size(png: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, from its header (IHDR); None for anything else."""
    if len(png) < 24 or not png.startswith(b"\x89PNG\r\n\x1a\n") or png[12:16] != b"IHDR":
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _e(text: str) -> str:
    """Text for HTML: escaped, and every control character shown as an escape (``\\x1b``), as in the charts."""
    return html.escape(escape_controls(text), quote=True)


def _inline(text: str) -> str:
    """Escape text; the program's own bold, code and links (:func:`strong`, :func:`code`, :func:`link`) become
    tags."""
    marked = _marked(
        text, _e, lambda part: f"<code>{_e(part)}</code>", lambda label, url: f'<a href="{_e(url)}">{label}</a>'
    )
    return "".join(f"<strong>{part}</strong>" if index % 2 else part for index, part in enumerate(marked.split(BOLD)))


def to_html(document: Document, kicker: str = "") -> str:
    body: list[str] = []
    for unit in kept_together(numbered(document.blocks)):
        if len(unit) > 1:  # a heading, its paragraphs and its figure: one unit in print (CSS div.keep)
            body.append('<div class="keep">' + "".join(_html_block(block) for block in unit) + "</div>")
        else:
            body.append(_html_block(unit[0]))
    kicker_html = f'<p class="kicker">{_e(kicker)}</p>' if kicker else ""
    toc = contents(document.blocks)
    nav = (
        '<nav class="contents" aria-label="Contents"><h2>Contents</h2><ol>'
        + "".join(f'<li><a href="#{_e(anchor)}">{_e(text)}</a></li>' for anchor, text in toc)
        + "</ol></nav>"
        if toc
        else ""
    )
    footer = f'<footer><div class="wrap">{_inline(document.footer)}</div></footer>' if document.footer else ""
    meta = (
        '<dl class="meta">'
        + "".join(f"<dt>{_e(term)}:</dt><dd>{_inline(value)}</dd>" for term, value in document.meta)
        + "</dl>"
        if document.meta
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(document.title)}</title>\n<style>{CSS}{print_margins(document)}\n</style>\n</head>\n<body>\n"
        '<a class="skip" href="#content">Skip to main content</a>\n'
        f'<header class="masthead"><div class="wrap">{kicker_html}<h1>{_e(document.title)}</h1>'
        f'<p class="subtitle">{_inline(document.subtitle)}</p>{meta}</div></header>\n'
        f'<main id="content"><div class="wrap">\n{nav}\n'
        + "\n".join(body)
        + "\n</div></main>\n"
        + footer
        + "\n</body>\n</html>\n"
    )


KEPT_PARAGRAPHS = 2  # at most this many paragraphs between a heading and its figure are kept with both


def kept_together(blocks: Sequence[Block]) -> list[list[Block]]:
    """``blocks`` in print units: a heading followed by at most :data:`KEPT_PARAGRAPHS` paragraphs and then a
    figure is one unit (kept on one page, docs/bulletin.md "Print"); every other block is a unit of its own."""
    units: list[list[Block]] = []
    index = 0
    while index < len(blocks):
        if isinstance(blocks[index], Heading):
            end = index + 1
            while end < len(blocks) and end - index <= KEPT_PARAGRAPHS and isinstance(blocks[end], Paragraph):
                end += 1
            if end < len(blocks) and isinstance(blocks[end], Figure):
                units.append(list(blocks[index : end + 1]))
                index = end + 1
                continue
        units.append([blocks[index]])
        index += 1
    return units


def _html_block(block: Block) -> str:
    """One block as HTML."""
    if isinstance(block, Heading):
        anchor = f' id="{_e(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{_e(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        css = f' class="{block.css}"' if block.css else ""
        return f"<p{css}>{_inline(block.text)}</p>"
    if isinstance(block, Bullets):
        items = "".join(f"<li>{_inline(item)}</li>" for item in block.items)
        return f'<ul class="bullets">{items}</ul>'
    if isinstance(block, KeyFigures):
        cards = "".join(
            f'<div class="keyfigure"><div class="value">{_e(f.value)}</div>'
            f'<div class="label">{_inline(f.label)}</div>'
            + (f'<div class="detail">{_inline(f.detail)}</div>' if f.detail else "")
            + "</div>"
            for f in block.figures
        )
        return f'<div class="keyfigures">{cards}</div>'
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Figure):
        data = base64.b64encode(block.png).decode("ascii")
        size = png_size(block.png)
        tall = ' class="tall"' if size and size[0] and size[1] >= TALL_FIGURE * size[0] else ""
        return (
            f'<figure id="figure-{_e(block.name)}"{tall}>'
            f'<img src="data:image/png;base64,{data}" alt="{_e(block.alt)}">'
            f"<figcaption>{_inline(block.caption)} "
            f'<span class="downloads"><a href="figures/{_e(block.name)}.svg">SVG</a> · '
            f'<a href="figures/{_e(block.name)}.png">PNG</a></span>'
            "</figcaption></figure>"
        )
    if isinstance(block, Definitions):
        items = "".join(f"<dt>{_e(term)}</dt><dd>{_inline(text)}</dd>" for term, text in block.items)
        return f'<dl class="definitions">{items}</dl>'
    raise TypeError(f"not a block: {block!r}")


def _html_table(block: Table) -> str:
    numeric = list(block.numeric) or [False] * len(block.columns)
    head = "".join(
        f'<th scope="col"{" class=num" if n else ""}>{_e(c)}</th>' for c, n in zip(block.columns, numeric, strict=True)
    )
    rows = []
    named = ""
    for index, row in enumerate(block.rows):
        css = ' class="latest"' if block.highlight_last and index == len(block.rows) - 1 else ""
        # the first cell names the row (a cohort, an establishment, a band): a row header for screen readers; a
        # row continuing the one above (a unit's second measure) shows no name but is read with it (never an
        # empty header: WCAG empty-table-header)
        named = str(row[0]) if str(row[0]).strip() else named
        cells = "".join(
            (
                f'<th scope="row"{" class=num" if n else ""}>{_e(v)}</th>'
                if str(v).strip() or not named
                else f'<th scope="row"{" class=num" if n else ""}><span class="vh">{_e(named)}</span></th>'
            )
            if position == 0
            else f"<td{' class=num' if n else ''}>{_e(v)}</td>"
            for position, (v, n) in enumerate(zip(row, numeric, strict=True))
        )
        rows.append(f"<tr{css}>{cells}</tr>")
    # the table's exact values: a link on screen, never a file name in the text (hidden in print)
    source = (
        f'<p class="source"><a href="tables/{_e(block.source)}">{_e(data_link(block.caption))}</a></p>'
        if block.source
        else ""
    )
    # a table short enough to fit on a printed page is never split; a longer one repeats its header
    short = ' class="short"' if len(block.rows) <= SHORT_TABLE_ROWS else ""
    return (
        f'<div class="table-scroll" tabindex="0" role="region" aria-label="{_e(block.caption)}">'
        f"<table{short}><caption>{_e(block.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{source}"
    )
