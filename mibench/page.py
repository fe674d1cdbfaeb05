"""One self-contained HTML page from mibench's result folders: a map's ``summary.md`` with
its regime maps and bias curves, a score's ``report.md`` with its information plane, a
leaderboard in Markdown; every figure inlined (base64 PNG), one table of contents, no
server and nothing fetched, so the file can be mailed or opened from a laptop's disk.

The page checks itself when a browser opens it: it marks on its ``<body>`` how many of its
figures decoded (``data-figures="loaded/total"``), how many script errors it saw
(``data-errors``) and where its first table starts (``data-first-table-top``, CSS pixels),
which the browser test reads (``tests/test_page.py``).
"""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

DOCUMENTS = ("summary.md", "report.md", "board.md", "leaderboard.md")  # what map, score and leaderboard write
_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\bsrc="([^"]*)"')

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
nav { position: sticky; top: 0; background: #f4f5f7; border-bottom: 1px solid #d9dce1; padding: 6px 24px;
      font-size: 14px; z-index: 1; }
nav a { margin-right: 18px; color: #1a4f8b; text-decoration: none; }
h1 { font-size: 24px; margin: 24px 0 8px; } h2 { font-size: 19px; margin-top: 28px; } h3 { font-size: 16px; }
section { border-top: 3px solid #d9dce1; margin-top: 28px; }
h1, h2, section { scroll-margin-top: 44px; }
.table { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d9dce1; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f5f7; } tr:nth-child(even) td { background: #fafbfc; }
img { display: block; max-width: 100%; height: auto; margin: 12px 0; border: 1px solid #eceef1; }
code { font-size: 12.5px; background: #f4f5f7; padding: 0 3px; }
.missing { color: #a4262c; }
.contents { font-size: 13.5px; } .contents a { color: #1a4f8b; text-decoration: none; }
"""

# In <head>, so that an error anywhere in the page is counted; the rest runs once it has loaded.
ERROR_COUNT = """<script>
window.mibenchErrors = 0;
window.addEventListener("error", function () { window.mibenchErrors += 1; }, true);
</script>"""
SELF_CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok += 1; } }
  document.body.dataset.figures = ok + "/" + imgs.length;
  document.body.dataset.errors = window.mibenchErrors;
  var table = document.querySelector("table");
  document.body.dataset.firstTableTop = table ? Math.round(table.getBoundingClientRect().top) : -1;
});
</script>"""
_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)</h2>')


class PageError(ValueError):
    """A path that holds no mibench output."""


@dataclass
class Document:
    """One Markdown output and the folder its figures are read from."""

    path: Path
    title: str = ""
    figures: int = 0
    missing: list[str] = field(default_factory=list)


def find_documents(paths: list[str | Path]) -> list[Path]:
    """The Markdown outputs in ``paths``: a .md file itself; in a folder, the outputs mibench
    writes there (:data:`DOCUMENTS`), or in its subfolders one level down (``mibench map
    --out maps`` writes one folder per suite)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_file() and path.suffix == ".md":
            found.append(path)
            continue
        if not path.is_dir():
            raise PageError(f"{path} is neither a folder nor a .md file; give a folder written by mibench map, "
                            "score or leaderboard")
        here = [path / name for name in DOCUMENTS if (path / name).is_file()]
        if not here:
            here = sorted(sub / name for sub in path.iterdir() if sub.is_dir() for name in DOCUMENTS
                          if (sub / name).is_file())
        if not here:
            raise PageError(f"no mibench output in {path} (none of {', '.join(DOCUMENTS)}, there or one folder down); "
                            "give the folder that mibench map --out, mibench score --out or mibench leaderboard wrote")
        found += here
    return list(dict.fromkeys(p.resolve() for p in found))


def _inlined(doc: Document, body: str) -> str:
    """Each <img> that names a PNG beside the document, inlined; a figure that cannot be
    read is named in red instead of leaving a broken image."""
    def inline(match: re.Match) -> str:
        tag = match.group(0)
        found = _SRC.search(tag)
        src = unquote(html.unescape(found.group(1))) if found else ""
        if src.startswith("data:"):
            doc.figures += 1
            return tag
        figure = doc.path.parent / src
        if not src or figure.suffix.lower() != ".png" or not figure.is_file():
            doc.missing.append(src)
            return f'<p class="missing">figure {html.escape(src)} is not beside {html.escape(doc.path.name)}</p>'
        doc.figures += 1
        data = base64.b64encode(figure.read_bytes()).decode("ascii")
        return tag[: found.start(1)] + f"data:image/png;base64,{data}" + tag[found.end(1):]  # alt, title kept
    return _IMG.sub(inline, body)


def _unreferenced_figures(doc: Document, text: str) -> str:
    """PNGs in a score's folder that its report does not show (the information plane)."""
    if doc.path.name != "report.md":
        return ""
    extra = [p for p in sorted(doc.path.parent.glob("*.png")) if p.name not in text]
    return "".join(f'<h2>{html.escape(p.stem)}</h2><img alt="{html.escape(p.stem)}" src="{html.escape(p.name)}">'
                   for p in extra)


# an href is kept when it is http(s), mail, an anchor, or relative (no scheme: no ":" before a "/" or its end)
_UNSAFE_HREF = re.compile(r'href="(?!https?:|mailto:|#|[^":]*[/"])[^"]*"', re.IGNORECASE)


def _as_html(text: str) -> str:
    """Markdown to HTML with raw HTML shown as text: mibench's outputs hold none of their own
    (figures are Markdown images), but they quote names users chose (a dump, a layer, a
    task), and ``relu<a>`` or a ``<script>`` in one must read as written, not vanish into
    the page as a tag or run in it; a link a name spells in Markdown keeps its text, but
    one to anything but http(s), mail, an anchor or a relative path (``javascript:``)
    points nowhere."""
    import markdown

    md = markdown.Markdown(extensions=["tables", "fenced_code", "toc"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return _UNSAFE_HREF.sub('href="#"', md.convert(text))


def render_page(paths: list[Path], title: str = "mibench report") -> tuple[str, list[Document]]:
    """The HTML page of the Markdown outputs ``paths`` (see the module notes), and what each
    document held (its title, figures inlined and figures missing)."""
    docs, sections = [], []
    for i, path in enumerate(paths):
        doc = Document(path)
        text = path.read_text(encoding="utf-8")
        heading = next((line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")), path.stem)
        doc.title = heading.replace("`", "")
        body = _as_html(text)
        body = body.replace("<table>", '<div class="table"><table>').replace("</table>", "</table></div>")
        body = _inlined(doc, body + _unreferenced_figures(doc, text))
        body = _H2.sub(lambda m: f'<h2 id="doc{i}-{m.group(1)}">{m.group(2)}</h2>', body)  # ids unique across documents
        contents = " · ".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in _H2.findall(body))
        sections.append(f'<section id="doc{i}"><p><small>{html.escape(str(path))}</small></p>{body}'
                        .replace("</h1>", f"</h1><p class='contents'>{contents}</p>", 1) + "</section>")
        docs.append(doc)
    nav = "".join(f'<a href="#doc{i}">{html.escape(d.title)}</a>' for i, d in enumerate(docs))
    page = (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style>{ERROR_COUNT}</head><body><nav>{nav}</nav><main>{''.join(sections)}</main>{SELF_CHECK}"
            "</body></html>\n")
    return page, docs
