"""``mibench report``: one self-contained HTML page of the outputs, checked as text and,
where Chromium is installed (CI installs Debian's), opened in a real headless browser."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mibench.page import PageError, find_documents, render_page  # noqa: E402

SUMMARY = """# mibench map: suite `tiny`

## Where to start

| family | N | use | reliable up to |
|---|---|---|---|
| parity | 256 | `miller_madow` | H(X,Y) = 4.47 |
| gaussian | 1024 | `gcmi` | I(X;Y) = 3.32 |

Some words with **bold** and `code`.

![map_parity](map_parity.png)
"""


def _figure(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.imshow(np.arange(12).reshape(3, 4))
    fig.savefig(path)
    plt.close(fig)


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """A map's suite folder and a score's folder, as the commands lay them out."""
    suite = tmp_path / "maps" / "tiny"
    suite.mkdir(parents=True)
    (suite / "summary.md").write_text(SUMMARY, encoding="utf-8")
    _figure(suite / "map_parity.png")
    scores = tmp_path / "scores"
    scores.mkdir()
    (scores / "report.md").write_text("# Scores of d.npz\n\n| layer | trusted |\n|---|---|\n| fc | 100% |\n",
                                      encoding="utf-8")
    _figure(scores / "plane.png")
    return tmp_path


def test_the_page_inlines_every_figure_and_renders_the_tables(outputs):
    docs = find_documents([outputs / "maps", outputs / "scores"])  # a map --out folder: its suites one level down
    assert [d.name for d in docs] == ["summary.md", "report.md"]
    page, found = render_page(docs)
    assert [d.title for d in found] == ["mibench map: suite tiny", "Scores of d.npz"]
    assert [d.figures for d in found] == [1, 1]  # the score's plane.png, which its report does not name, is shown too
    assert page.count("data:image/png;base64,") == 2 and 'src="map_parity.png"' not in page
    assert page.count("<table>") == 2 and "<td><code>miller_madow</code></td>" in page
    assert "<strong>bold</strong>" in page and 'href="#doc1"' in page
    assert '<a href="#doc0-where-to-start">Where to start</a>' in page and 'id="doc0-where-to-start"' in page


def test_a_figure_that_is_not_there_is_named_not_left_broken(outputs):
    (outputs / "maps" / "tiny" / "map_parity.png").unlink()
    page, (doc,) = render_page(find_documents([outputs / "maps" / "tiny"]))
    assert doc.missing == ["map_parity.png"] and doc.figures == 0
    assert "<img" not in page and "figure map_parity.png is not beside summary.md" in page


def test_figures_named_with_spaces_or_given_a_title_are_inlined_too(tmp_path):
    # Markdown writes a space in a file name as %20, and a title as an attribute after src:
    # both must still be read from disk and inlined, not left as broken relative links
    _figure(tmp_path / "my fig.png")
    _figure(tmp_path / "t.png")
    (tmp_path / "summary.md").write_text('# s\n\n![a](my%20fig.png)\n\n![b](t.png "the title")\n', encoding="utf-8")
    page, (doc,) = render_page(find_documents([tmp_path]))
    assert doc.figures == 2 and doc.missing == []
    assert page.count("data:image/png;base64,") == 2 and 'src="t.png"' not in page and 'title="the title"' in page


def test_names_users_chose_read_as_written_not_as_html(tmp_path):
    # a dump or layer named with angle brackets must show its name, not vanish as an unknown
    # tag, and a <script> in one must not run in the page
    _figure(tmp_path / "plane.png")
    text = ("# score of `net<v2>.npz`\n\n| layer | verdict |\n|---|---|\n| relu<a> & co | reliable |\n"
            "| [x](javascript:alert(1)) | [y](https://example.org) |\n\n"
            "<script>window.mibenchErrors = 99;</script>\n\n![plane](plane.png)\n")
    (tmp_path / "report.md").write_text(text, encoding="utf-8")
    page, (doc,) = render_page(find_documents([tmp_path]))
    assert doc.figures == 1 and doc.title == "score of net<v2>.npz"
    assert "<td>relu&lt;a&gt; &amp; co</td>" in page and "<code>net&lt;v2&gt;.npz</code>" in page
    assert "javascript:" not in page and '<a href="#">x</a>' in page and '<a href="https://example.org">y</a>' in page
    assert "&lt;script&gt;window.mibenchErrors = 99;&lt;/script&gt;" in page
    assert page.count("<script>") == 2  # the page's own two: the error count and the self-check


def test_a_path_with_no_output_is_refused_with_what_to_give(tmp_path):
    with pytest.raises(PageError, match="no mibench output in"):
        find_documents([tmp_path])
    with pytest.raises(PageError, match="neither a folder nor a .md file"):
        find_documents([tmp_path / "nothing"])


def test_the_command_writes_the_page(outputs):
    out = outputs / "page.html"
    done = subprocess.run([sys.executable, "-m", "mibench", "report", str(outputs / "maps"), str(outputs / "scores"),
                           "--out", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and out.read_text(encoding="utf-8").startswith("<!doctype html>")


CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                None)
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: `apt-get install chromium` (CI installs it)")
def test_the_page_opens_in_a_real_browser_with_every_figure_visible(outputs, tmp_path):
    # Chromium loads the file with no server: the page's own check (on load) marks how many
    # figures decoded and how many script errors it saw; a screenshot at 1280 x 800, a
    # laptop's screen, shows the first table without scrolling.
    page, _ = render_page(find_documents([outputs / "maps", outputs / "scores"]))
    html_file = tmp_path / "page.html"
    html_file.write_text(page, encoding="utf-8")
    common = [CHROMIUM, *HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,800"]
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom", html_file.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False).stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    assert 'data-figures="2/2"' in body.group(0) and 'data-errors="0"' in body.group(0), body.group(0)
    top = int(re.search(r'data-first-table-top="(-?\d+)"', body.group(0)).group(1))
    assert 0 <= top < 800
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", html_file.as_uri()], capture_output=True, timeout=120, check=False)
    pixels = plt.imread(shot)
    assert pixels.shape[:2] == (800, 1280)
    assert (pixels[..., :3].mean(axis=2) < 0.9).mean() > 0.01  # something is drawn, not a blank page
