"""index.html in a real headless Chromium: it renders without console messages and every image loads.

Marked ``browser``: skipped, with the reason printed (pytest -ra), where no Chromium is installed. On Debian:
``apt-get install -y chromium``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
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
