"""index.html in a real headless Chromium: it renders without console messages and every image loads; the
sample bulletin has no axe-core violations of any impact, and prints to PDF with no table clipped and no
figure or short table split from its caption.

Marked ``browser``: skipped, with the reason printed (pytest -ra), where no Chromium (or no chromedriver,
selenium, the pinned axe-core, or no poppler-utils) is installed. On Debian: ``apt-get install -y chromium
chromium-driver poppler-utils``; axe-core comes from npm into ``.venv/axe-core/`` (``make test`` does both when it
can).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from .test_bulletin_cli import write_job

pytestmark = pytest.mark.browser

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-file-access-from-files",
)
# Injected into a copy of the page: after load, record every <img> and every linked SVG that fails to load.
CHECKER = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src.slice(0, 40));
  const svgs = Array.from(document.querySelectorAll('a[href$=".svg"]')).map(a => a.getAttribute("href"));
  Promise.all(svgs.map(src => new Promise(done => {
    const probe = new Image();
    probe.onload = () => done(probe.naturalWidth > 0 ? null : src);
    probe.onerror = () => done(src);
    probe.src = src;
  }))).then(failed => {
    const out = document.createElement("pre");
    out.id = "browser-check";
    out.textContent = JSON.stringify({images: images.length, broken, svgs: svgs.length,
                                      brokenSvgs: failed.filter(Boolean),
                                      title: document.querySelector("h1").textContent,
                                      tables: document.querySelectorAll("table").length});
    document.body.appendChild(out);
  });
});
</script>
"""


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless Chromium installed (looked for chromium, google-chrome); apt-get install -y chromium")


def run_chromium(browser: str, page: Path, profile: Path) -> subprocess.CompletedProcess:
    command = [
        browser,
        *FLAGS,
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


@pytest.fixture(scope="module")
def browser() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def bulletin(browser, tmp_path_factory):
    from reoffend.bulletin.build import build_bulletin
    from reoffend.bulletin.config import parse_config

    folder = tmp_path_factory.mktemp("browser")
    job = write_job(folder, extract_date="2024-12-31")
    target = folder / "bulletin"
    build_bulletin(parse_config(str(job)), str(target))
    return target


def test_page_renders_without_console_messages(browser, bulletin, tmp_path):
    result = run_chromium(browser, bulletin / "index.html", tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<h1>Test bulletin</h1>" in result.stdout
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console


def test_every_image_loads(browser, bulletin, tmp_path):
    page = bulletin / "browser-check.html"  # beside index.html, so relative links resolve the same way
    page.write_text((bulletin / "index.html").read_text().replace("</body>", CHECKER + "</body>"))
    try:
        result = run_chromium(browser, page, tmp_path / "profile")
    finally:
        page.unlink()
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'<pre id="browser-check">(.*?)</pre>', result.stdout, re.S)
    assert match, "the check script did not run: " + result.stderr[-2000:]
    check = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert check["images"] == 4 and check["broken"] == []
    assert check["svgs"] == 4 and check["brokenSvgs"] == []
    assert check["title"] == "Test bulletin" and check["tables"] >= 2


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """The two detectors above do fire: a console message and a missing image are both seen."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><script>console.error("boom")</script></head><body><h1>x</h1>'
        '<img src="missing.png" alt="missing"><a href="missing.svg">SVG</a>' + CHECKER + "</body></html>"
    )
    result = run_chromium(browser, page, tmp_path / "profile")
    assert any(":CONSOLE" in line and "boom" in line for line in result.stderr.splitlines())
    check = json.loads(
        re.search(r'<pre id="browser-check">(.*?)</pre>', result.stdout, re.S).group(1).replace("&quot;", '"')
    )
    assert check["broken"] == ["missing"] and check["brokenSvgs"] == ["missing.svg"]


# ------------------------------------------------------------------------ accessibility and print (sample)
SAMPLE_JOB = Path(__file__).resolve().parents[1] / "data" / "sample" / "job.toml"


@pytest.fixture(scope="module")
def sample_page(browser, tmp_path_factory) -> Path:
    """The sample bulletin: [disclosure], [breakdowns] and [publication] set, nine charts, sixteen tables."""
    from reoffend.bulletin.build import build_bulletin
    from reoffend.bulletin.config import parse_config

    target = tmp_path_factory.mktemp("sample-browser") / "bulletin"
    build_bulletin(parse_config(str(SAMPLE_JOB)), str(target))
    return target


@pytest.fixture(scope="module")
def driver(browser, tmp_path_factory):
    """Selenium driving Debian's chromium-driver (no driver download: the path is given)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (make install)")
    chromedriver = shutil.which("chromedriver")
    if chromedriver is None:
        pytest.skip("no chromedriver (Debian: apt-get install -y chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*FLAGS, "--disable-quic", f"--user-data-dir={tmp_path_factory.mktemp('profile')}"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
    yield session
    session.quit()


# axe-core as pinned in the Makefile (AXE_CORE_VERSION), fetched from npm into the virtual environment by
# `make browser`; the rules engine behind Lighthouse and most accessibility checkers.
AXE_CORE = Path(sys.prefix) / "axe-core" / "axe.min.js"
AXE_CORE_MAJOR = "4."
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def axe_script() -> str:
    if not AXE_CORE.is_file():
        pytest.skip(f"no axe-core at {AXE_CORE} (make browser fetches it from npm)")
    return AXE_CORE.read_text(encoding="utf-8")


def axe_results(driver, page: Path) -> dict:
    """Run axe-core on the page with the rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA and best practice:
    the WCAG 2.2 tags are named, since some of their rules (target-size) are off by default."""
    script = axe_script()
    driver.get(page.as_uri())
    driver.execute_script(script)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done({version: axe.version, violations: r.violations,"
        " passes: r.passes.length}), e => done({error: String(e)}));",
        AXE_TAGS,
    )


def axe_violations(driver, page: Path) -> list[dict]:
    """Every violation, whatever its impact (minor and moderate included: the sample bulletin has none)."""
    results = axe_results(driver, page)
    assert "error" not in results, results
    assert results["version"].startswith(AXE_CORE_MAJOR), results["version"]
    return list(results["violations"])


@pytest.mark.parametrize("which", ["sample_page", "every_section_page"])
def test_axe_finds_no_violations(driver, request, which):
    """The sample bulletin and the 20,000-release bulletin with every section (issue 26)."""
    violations = axe_violations(driver, request.getfixturevalue(which) / "index.html")
    summary = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["html"][:120]) for v in violations]
    assert not violations, summary


def test_axe_check_catches_an_inaccessible_page(driver, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><title>x</title></head><body><main><h1>x</h1><img src="a.png">'
        '<p style="color:#ccc;background:#fff">faint text</p></main></body></html>'
    )
    ids = {v["id"] for v in axe_violations(driver, page)}
    assert {"image-alt", "color-contrast"} <= ids, ids


PRINT_CHECK = """
const pageHeight = arguments[0];
const out = {clipped: [], tall: [], captions: 0, tables: 0, figures: 0};
for (const box of document.querySelectorAll('.table-scroll')) {
  const table = box.querySelector('table');
  out.tables += 1;
  if (table.getBoundingClientRect().right > document.documentElement.clientWidth + 1
      || box.scrollWidth > box.clientWidth + 1) out.clipped.push(table.caption.textContent);
  if (table.caption && table.caption.parentElement === table) out.captions += 1;
}
for (const figure of document.querySelectorAll('figure')) {
  out.figures += 1;
  const r = figure.getBoundingClientRect();
  if (r.right > document.documentElement.clientWidth + 1 || r.height > pageHeight)
    out.tall.push([figure.id, Math.round(r.height)]);
}
return out;
"""


def test_print_layout_clips_nothing(driver, sample_page):
    """In print media at the A4 printable width, no table overflows or scrolls and every figure fits a page."""
    driver.get((sample_page / "index.html").as_uri())
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    # A4 less 12 mm margins each side: 186 mm at 96 px per inch; 267 mm page height less margins
    width, height = round(186 / 25.4 * 96), round((297 - 30) / 25.4 * 96)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        check = driver.execute_script(PRINT_CHECK, height)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert check["tables"] >= 10 and check["captions"] == check["tables"]
    assert check["figures"] == 9
    assert check["clipped"] == [] and check["tall"] == []


def test_printed_pdf_keeps_figures_and_short_tables_whole(browser, sample_page, tmp_path):
    """Printed by headless Chromium: each figure's image is on the page of its caption, and a table of up to 30
    rows has its caption and its last row on one page."""
    pdf = printed(browser, sample_page, tmp_path, tools=("pdftotext", "pdfimages"))
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout.split("\f")
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout.splitlines()
    image_pages = [int(line.split()[0]) for line in listing[2:] if line.split() and line.split()[2] == "image"]
    caption_pages = []
    for number in range(1, 10):
        found = [i + 1 for i, text in enumerate(pages) if f"Figure {number}:" in text]
        assert found, f"Figure {number} caption not printed"
        caption_pages.append(found[0])
    assert len(image_pages) == 9
    assert image_pages == caption_pages, (image_pages, caption_pages)
    html = (sample_page / "index.html").read_text()
    tables = re.findall(r'<table class="short"><caption>(Table \d+):.*?</caption>.*?<tbody>(.*?)</tbody>', html, re.S)
    assert len(tables) >= 10
    for label, body in tables:
        last = re.findall(r'<tr[^>]*><th scope="row"[^>]*>(.*?)</th>', body)[-1]
        caption_page = next(i for i, text in enumerate(pages) if f"{label}:" in text)
        assert last in pages[caption_page], f"{label}: its last row ({last}) is not on the page of its caption"


# ----------------------------------------------------------------- the printed pages (issue 26, item 5)
@pytest.fixture(scope="module")
def every_section_page(browser, tmp_path_factory) -> Path:
    """A bulletin with every section (establishments, breakdowns, the three comparisons, the court lag and
    provisional figures) from a 20,000-release synthetic population whose latest cohorts are in follow-up."""
    import datetime as dt

    from reoffend.bulletin.build import build_bulletin
    from reoffend.bulletin.config import parse_config
    from reoffend.synth import SynthParams, write

    folder = tmp_path_factory.mktemp("every-section")
    write(SynthParams(releases=20_000, seed=26, cohorts=10, extract_date=dt.date(2025, 3, 31)), folder, "csv")
    sample = SAMPLE_JOB.parent
    job = SAMPLE_JOB.read_text().replace('"excluded_offences.txt"', f'"{sample / "excluded_offences.txt"}"')
    job = job.replace("bootstrap = 1000", "bootstrap = 200")
    (folder / "job.toml").write_text(job + "\n[provisional]\ncohorts = 3\norigins = 4\n")
    target = folder / "bulletin"
    build_bulletin(parse_config(str(folder / "job.toml")), str(target))
    return target


def printed(browser: str, page: Path, tmp_path: Path, tools: tuple[str, ...] = ("pdftotext", "pdftoppm")) -> Path:
    """index.html printed to PDF by headless Chromium (no browser header or footer: the page's own); skipped,
    with the reason, when the poppler ``tools`` that read it back are not installed."""
    if not all(shutil.which(tool) for tool in tools):
        pytest.skip(f"{'/'.join(tools)} not installed (Debian: apt-get install -y poppler-utils)")
    pdf = tmp_path / "bulletin.pdf"
    command = [
        browser,
        *FLAGS,
        "--disable-quic",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        (page / "index.html").as_uri(),
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert pdf.exists() and pdf.stat().st_size > 10_000
    return pdf


def blank_shares(pdf: Path, tmp_path: Path) -> list[float]:
    """For each page (rendered by pdftoppm at 30 dpi, grey), the longest run of blank pixel rows inside the
    A4 page's margins (14 mm top, 18 mm bottom: the footer's page number is not content) as a share of the
    page's height. A row is blank when no pixel in it is darker than 230 of 255."""
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "30", "-gray", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    shares = []
    for path in sorted(tmp_path.glob("page-*.pgm")):
        image = Image.open(path)
        width, height = image.size
        pixels = image.load()
        run = longest = 0
        for y in range(round(height * 14 / 297), round(height * (297 - 18) / 297)):
            run = 0 if any(pixels[x, y] < 230 for x in range(width)) else run + 1
            longest = max(longest, run)
        shares.append(longest / height)
    return shares


@pytest.mark.parametrize("which", ["sample", "every section"])
def test_printed_pages_are_numbered_dated_and_never_half_empty(
    browser, sample_page, every_section_page, tmp_path, which
):
    """Every printed page carries "Page N of M" and the publication date (the @page margin boxes, Chromium
    131 and later), and no page but the last is more than 40% blank: no forced page break, figures at most
    ~90 mm tall, long tables breaking between rows."""
    page = sample_page if which == "sample" else every_section_page
    pdf = printed(browser, page, tmp_path)
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout.split("\f")
    pages = [text for text in pages if text.strip()]
    assert len(pages) >= 5
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text, (number, text[-300:])
        assert "Published 30 April 2026" in text, number
    shares = blank_shares(pdf, tmp_path)
    assert len(shares) == len(pages)
    too_blank = {number: round(share, 2) for number, share in enumerate(shares[:-1], start=1) if share > 0.40}
    assert not too_blank, f"pages more than 40% blank: {too_blank}"
    # the last page is spared the 40% rule, but never holds only the footer line (issue 26 review, item 9)
    footer = " ".join(re.sub(r"<[^>]+>", "", (page / "index.html").read_text().split("<footer>", 1)[1]).split())
    last = " ".join(pages[-1].split()).replace(footer[:60], "")
    assert re.sub(r"Page \d+ of \d+|Published 30 April 2026", "", last).strip(), "a last page with only the footer"


def headings_of_figures(html: str) -> list[tuple[str, str]]:
    """(heading, "Figure N") for every figure of index.html: the nearest heading above it."""
    pairs, heading = [], ""
    main = html.split("<main", 1)[1]
    for found in re.finditer(r"<h([23])[^>]*>(.*?)</h\1>|<figcaption>(Figure \d+):", main):
        if found.group(2):
            heading = unescape(found.group(2))
        else:
            pairs.append((heading, found.group(3)))
    return pairs


@pytest.mark.parametrize("which", ["sample", "every section"])
def test_printed_headings_stay_with_their_figures(browser, sample_page, every_section_page, tmp_path, which):
    """Issue 26, items 2 and 5: a heading, its paragraph and its figure are printed on one page (div.keep).
    Before, the establishments' heading and paragraph ended a page whose next page began with their ranked
    chart (TALL_FIGURE), in the sample and in the 20,000-release bulletin."""
    page = sample_page if which == "sample" else every_section_page
    pdf = printed(browser, page, tmp_path)
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout.split("\f")
    pages = [" ".join(text.split()) for text in pages]
    pairs = headings_of_figures((page / "index.html").read_text())
    assert len(pairs) >= 9
    apart = []
    for heading, label in pairs:
        figure_page = next(i for i, text in enumerate(pages) if f"{label}:" in text)
        if " ".join(heading.split()) not in pages[figure_page]:
            apart.append((heading, label))
    assert not apart, f"headings printed apart from their figures: {apart}"


def test_a_heading_its_paragraphs_and_its_figure_are_one_print_unit():
    """kept_together: a heading, at most two paragraphs, then a figure are one unit (div.keep in the HTML);
    three paragraphs, or a table between, make no unit (such a unit would take most of a page)."""
    from reoffend.bulletin.document import Document, Figure, Heading, Paragraph, Table, kept_together, to_html

    h, p, f, t = Heading("H"), Paragraph("p"), Figure("f", "c", "a"), Table("t", ["a"], [["1"]])
    assert [len(unit) for unit in kept_together([h, p, f, h, f, h, p, p, f])] == [3, 2, 4]
    assert [len(unit) for unit in kept_together([h, p, p, p, f, h, t, f])] == [1, 1, 1, 1, 1, 1, 1, 1]
    html = to_html(Document("T", "s", [h, p, f, t]))
    assert re.search(r'<div class="keep"><h2>H</h2><p>p</p><figure id="figure-f">.*?</figure></div>', html, re.S)
    assert "div.keep { break-inside:avoid" in html


def test_the_blank_measure_sees_a_half_empty_page(browser, tmp_path):
    """The measure above finds a page left half blank by a forced break (so a pass means something)."""
    page = tmp_path / "page"
    page.mkdir()
    (page / "index.html").write_text(
        "<!DOCTYPE html><html lang=en><title>t</title><style>@page { size: A4; margin: 14mm 12mm 18mm }</style>"
        # 100 mm of ink, then a forced break: the first page's content area (297 - 14 - 18 = 265 mm) is
        # 165 mm blank, 165 / 297 = 56% of the page; the second holds one line, about 88% blank
        + "<div style='height:100mm;background:#000'></div>"
        + "<h2 style='break-before:page'>Next</h2><p>more</p>"
    )
    shares = blank_shares(printed(browser, page, tmp_path), tmp_path)
    assert len(shares) == 2
    assert 0.50 < shares[0] < 0.60 and shares[1] > 0.80, shares


def test_the_contents_are_one_column_on_a_phone(driver, sample_page):
    """Read end to end on a phone (issue 26): the two-column contents wrapped most entries into two or three
    lines, each number beside the last; on a phone they are one column (two on a desktop)."""
    driver.get((sample_page / "index.html").as_uri())
    try:
        for width, columns in ((390, "1"), (1280, "2")):
            driver.set_window_size(width, 1000)
            found = driver.execute_script(
                'return getComputedStyle(document.querySelector("nav.contents ol")).columnCount'
            )
            assert found == columns, (width, found)
    finally:
        driver.set_window_size(1280, 1000)


def footer_alone(browser: str, tmp_path: Path, words: int) -> bool:
    """Whether the printed page of a heading, ten paragraphs and a last one of ``words`` words, with the
    bulletin's print rules (document.CSS), ends on a page holding nothing but the footer line and the page's
    number and date."""
    from reoffend.bulletin.document import Document, Heading, Paragraph, to_html

    page = tmp_path / f"page-{words}"
    page.mkdir()
    blocks = [Heading("Section", anchor="s")] + [Paragraph(f"Paragraph {i}: " + "words " * 40) for i in range(10)]
    blocks.append(Paragraph("Last: " + "words " * words))
    (page / "index.html").write_text(to_html(Document("Title", "Subtitle", blocks, footer="The footer line.")))
    pdf = printed(browser, page, tmp_path / f"pdf-{words}")
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout.split("\f")
    last = " ".join([text for text in pages if text.strip()][-1].split())
    return re.sub(r"The footer line\.|Page \d+ of \d+", "", last).strip() == ""


def test_the_footer_never_takes_a_page_alone(browser, tmp_path):
    """Issue 26 review, item 9: a last page holding only the footer line (87% blank), which the 40% rule above
    cannot see (it spares the last page). Before the fix a last paragraph of 60 words (from 45 to 75) left
    the footer alone on page 2; the footer now keeps with the content before it (break-before: avoid)."""
    for words in range(30, 111, 5):
        (tmp_path / f"pdf-{words}").mkdir()
        assert not footer_alone(browser, tmp_path, words), words
