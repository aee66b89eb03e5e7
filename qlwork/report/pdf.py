"""HTML → PDF (and PNG for checks) through headless Chromium, when it is installed.

A batch is printed by **one** browser (Playwright driving Debian's
``/usr/bin/chromium``) with several tabs printing in parallel: one process
start for the whole batch, and while one tab lays out a page another is
rasterising its PDF, so both cores stay busy.  Each print job has a fixed cost
(≈ 0.2 s of CPU: print context, CJK font subsetting) larger than a two-page
report's own, so reports that share their ``<head>`` (same template) are printed
``batch`` at a time as one document — each report starts on a new page and
carries a named destination — and the PDF is split at those destinations with
pikepdf (qpdf).  Measured on the county demo: ≈ 0.42 s of CPU per report printed
alone, ≈ 0.13 s printed in batches of 16 and split.  Playwright's API runs in a
thread of its own with its own event loop, so printing also works where an
event loop is already running (JupyterLab, Voilà).  Without Playwright, or if
it fails, each file is printed by a ``chromium --headless --print-to-pdf``
subprocess.  Every PDF is written whole (temporary name, then renamed; see
qlwork.io.safe).  Without a Chromium the caller gets an empty list and a
message, never an error.

Page fitting: a report declares its pages as ``<section class="sheet">``
blocks (one printed page each; CSS ``break-before: page`` between them) and the
printable height as the CSS variable ``--sheet-height`` (A4 minus the @page
margins).  Before printing, :data:`FIT_SCRIPT` measures each sheet in print
media and, when a sheet is taller than a page (a long unit name, many warnings),
scales that sheet down with CSS ``zoom`` — never below :data:`MIN_ZOOM` — so a
two-sheet 体检报告单 prints on exactly two pages.  The number of pages of every
PDF is counted (:func:`pdf_page_count`) and returned, so a caller can check it.
"""
from __future__ import annotations

import asyncio
import html as _html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..io.safe import atomic_path, atomic_write_bytes

__all__ = ["find_chromium", "html_to_pdf", "htmls_to_pdf", "html_to_png", "pdf_page_count", "print_pdfs",
           "PrintResult", "CHROMIUM_FLAGS", "FIT_SCRIPT", "MIN_ZOOM", "DEFAULT_BATCH", "default_workers"]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars",
                  "--font-render-hinting=none"]

#: Smallest scale a sheet is shrunk to so that it fits its page (below this the text gets too small
#: to read; the page count then shows the overflow instead of hiding it).
MIN_ZOOM = 0.80

#: Runs in the page (print media) before printing: shrink each ``.sheet`` taller than ``--sheet-height``.
#: Returns the zoom applied to each sheet.
FIT_SCRIPT = """(minZoom) => {
  const docs = document.querySelectorAll('.qlwork-doc');
  const out = [];
  for (const d of (docs.length ? docs : [document.body])) {
    const zs = [];
    for (const s of d.querySelectorAll('.sheet')) {
      const probe = document.createElement('div');
      probe.style.cssText = 'position:absolute;visibility:hidden;height:var(--sheet-height, 269mm)';
      s.appendChild(probe);
      const limit = probe.getBoundingClientRect().height;
      probe.remove();
      s.style.zoom = '';
      const h = s.getBoundingClientRect().height;
      let z = 1;
      if (h > limit) {
        z = Math.max(minZoom, Math.floor(1000 * limit / h) / 1000);
        s.style.zoom = String(z);
        // text reflows at the new scale: shrink a little further while it still does not fit
        while (z > minZoom && s.getBoundingClientRect().height > limit) {
          z = Math.max(minZoom, Math.round(1000 * (z - 0.01)) / 1000);
          s.style.zoom = String(z);
        }
      }
      zs.push(z);
    }
    out.push(zs);
  }
  return out;
}"""


#: Reports printed together as one document (then split); 1 disables batching.
DEFAULT_BATCH = 16


def default_workers() -> int:
    """Tabs printing in parallel: two per core (one lays out while the other rasterises), 2–8."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable: $QLWORK_CHROMIUM, then PATH, then /usr/bin/chromium."""
    env = os.environ.get("QLWORK_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


_COUNT = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", re.S)
_PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")


def pdf_page_count(pdf: str | Path | bytes) -> int:
    """Number of pages of a PDF (the root page tree's ``/Count``; Chromium writes it uncompressed).

    Falls back to counting ``/Type /Page`` objects.  0 when neither is found.
    """
    data = pdf if isinstance(pdf, (bytes, bytearray)) else Path(pdf).read_bytes()
    counts = [int(a or b) for a, b in _COUNT.findall(data)]
    if counts:
        return max(counts)  # nested page trees: the root holds the total
    return len(_PAGE.findall(data))


def _run(args: list[str], timeout: float) -> bool:
    try:
        r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


class _Failed(RuntimeError):
    pass


def html_to_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 60) -> Path | None:
    """Print one HTML file to A4 PDF with the Chromium command line (no page fitting); None when impossible."""
    exe = find_chromium()
    if exe is None:
        return None
    pdf = Path(pdf)
    with atomic_path(pdf) as tmp:
        ok = _run([exe, *CHROMIUM_FLAGS, f"--print-to-pdf={tmp}", "--no-pdf-header-footer",
                   Path(html).resolve().as_uri()], timeout)
        if not ok or not tmp.exists() or tmp.stat().st_size == 0:
            raise _Failed(str(html))
    return pdf


def html_to_png(html: str | Path, png: str | Path, *, size: tuple[int, int] = (1240, 1754),
                timeout: float = 60) -> Path | None:
    """Screenshot an HTML file (used by tests to look at a rendered report)."""
    exe = find_chromium()
    if exe is None:
        return None
    png = Path(png)
    with atomic_path(png) as tmp:
        tmp_png = tmp.with_suffix(".png")
        ok = _run([exe, *CHROMIUM_FLAGS, f"--screenshot={tmp_png}", f"--window-size={size[0]},{size[1]}",
                   Path(html).resolve().as_uri()], timeout)
        if not ok or not tmp_png.exists():
            tmp_png.unlink(missing_ok=True)
            return None
        os.replace(tmp_png, tmp)
    return png


@dataclass(frozen=True)
class PrintResult:
    """What a batch print wrote: the PDFs, their page counts and the zoom applied to each sheet."""

    pdfs: tuple[Path, ...]
    pages: dict
    zoom: dict
    failed: tuple[str, ...] = ()
    engine: str = ""

    def over(self, max_pages: int) -> dict:
        """PDFs with more than ``max_pages`` pages → their page count."""
        return {p: n for p, n in self.pages.items() if n > max_pages}


_DOC = re.compile(r"^(?P<head>.*?)<body>(?P<body>.*)</body>\s*</html>\s*$", re.S | re.I)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)


@dataclass
class _Doc:
    html: Path
    pdf: Path
    head: str | None = None   # the <head> part without its <title> (the batching key), None = print alone
    body: str = ""
    title: str = ""


def _read_doc(html: Path, pdf: Path) -> _Doc:
    text = html.read_text(encoding="utf-8")
    m = _DOC.match(text)
    t = _TITLE.search(text)
    title = _html.unescape(t.group(1)).strip() if t else html.stem
    if m is None:
        return _Doc(html, pdf, title=title)
    return _Doc(html, pdf, _TITLE.sub("", m.group("head")), m.group("body"), title)


def _batches(docs: list[_Doc], size: int) -> list[list[_Doc]]:
    """Consecutive documents of one folder with the same head, ``size`` at a time (others alone)."""
    out: list[list[_Doc]] = []
    for d in docs:
        last = out[-1] if out else None
        if (size > 1 and d.head is not None and last and len(last) < size and last[0].head == d.head
                and last[0].html.parent == d.html.parent):
            last.append(d)
        else:
            out.append([d])
    return out


def _combined(batch: list[_Doc]) -> str:
    """One document printing every report of the batch, each from a new page with a named destination."""
    base = f'<base href="{batch[0].html.parent.resolve().as_uri()}/">'
    head = re.sub(r"<head>", "<head>" + base, batch[0].head, count=1, flags=re.I)
    parts = [head, "<body>"]
    for k, d in enumerate(batch):
        # the 1-px link makes Chromium write a named destination /qd<k> on the page where the report starts
        parts.append(f'<div class="qlwork-doc" id="qd{k}" style="break-before:page">'
                     f'<a href="#qd{k}" style="position:absolute;width:1px;height:1px;overflow:hidden"> </a>'
                     f"{d.body}</div>")
    parts.append("</body></html>")
    return "".join(parts)


def _split(data: bytes, batch: list[_Doc]) -> list[tuple[bytes, int]] | None:
    """Split a batch's PDF at the named destinations /qd0, /qd1, …; None when they are not all there."""
    import io

    import pikepdf

    src = pikepdf.open(io.BytesIO(data))
    index = {p.objgen: i for i, p in enumerate(src.pages)}
    root = src.Root
    if "/Dests" in root:
        dests = {str(k): v for k, v in root.Dests.items()}
    elif "/Names" in root and "/Dests" in root.Names:
        dests = {("/" + str(k)).replace("//", "/"): v for k, v in pikepdf.NameTree(root.Names.Dests).items()}
    else:
        return None
    starts = []
    for k in range(len(batch)):
        v = dests.get(f"/qd{k}")
        if v is None:
            return None
        arr = v.D if isinstance(v, pikepdf.Dictionary) else v
        starts.append(index.get(arr[0].objgen, -1))
    if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        return None
    out = []
    for d, a, b in zip(batch, starts, starts[1:] + [len(src.pages)]):
        one = pikepdf.new()
        with warnings.catch_warnings():  # the copies need no named destinations: the markers are dropped
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning if hasattr(pikepdf, "PageCopyWarning")
                                  else Warning)
            one.pages.extend(src.pages[a:b])
        for pg in one.pages:  # drop the marker links
            annots = pg.obj.get("/Annots")
            if annots is not None:
                keep = [x for x in annots if not str(x.get("/Dest", "")).startswith("/qd")]
                if keep:
                    pg.obj.Annots = pikepdf.Array(keep)
                else:
                    del pg.obj["/Annots"]
        one.docinfo["/Title"] = d.title
        one.docinfo["/Creator"] = "qlwork"
        buf = io.BytesIO()
        one.save(buf)
        out.append((buf.getvalue(), b - a))
    return out


def _can_split() -> bool:
    try:
        import pikepdf  # noqa: F401
    except ImportError:
        return False
    return True


_PDF_OPTIONS = {"format": "A4", "print_background": True, "prefer_css_page_size": True}


async def _print_async(pairs, exe: str, workers: int, progress: bool, fit: bool, batch: int) -> PrintResult:
    from playwright.async_api import async_playwright
    from tqdm.auto import tqdm

    docs = [_read_doc(h, p) for h, p in pairs]
    queue: asyncio.Queue = asyncio.Queue()
    for b in _batches(docs, batch if _can_split() else 1):
        queue.put_nowait(b)
    pages: dict[Path, int] = {}
    zoom: dict[Path, list] = {}
    bar = tqdm(total=len(pairs), desc="PDF", unit="份", disable=not progress, leave=False)
    loop = asyncio.get_running_loop()
    tmp = Path(tempfile.mkdtemp(prefix="qlwork-print-"))

    def save(d: _Doc, data: bytes, n: int, z) -> None:
        atomic_write_bytes(d.pdf, data)
        pages[d.pdf] = n
        zoom[d.pdf] = z
        bar.update()

    async def alone(page, d: _Doc) -> None:
        await page.goto(d.html.resolve().as_uri(), wait_until="load")
        z = (await page.evaluate(FIT_SCRIPT, MIN_ZOOM))[0] if fit else []
        data = await page.pdf(**_PDF_OPTIONS)
        save(d, data, pdf_page_count(data), z)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS[1:])
        try:
            async def worker(w: int):
                page = await browser.new_page()
                await page.emulate_media(media="print")  # measure sheets as they will print
                while True:
                    try:
                        b = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    if len(b) == 1:
                        await alone(page, b[0])
                        continue
                    f = tmp / f"batch-{w}.html"
                    f.write_text(_combined(b), encoding="utf-8")
                    await page.goto(f.as_uri(), wait_until="load")
                    zs = await page.evaluate(FIT_SCRIPT, MIN_ZOOM) if fit else [[] for _ in b]
                    data = await page.pdf(**_PDF_OPTIONS)
                    parts = await loop.run_in_executor(None, _split, data, b)
                    if parts is None:  # destinations missing: print this batch one by one
                        for d in b:
                            await alone(page, d)
                        continue
                    for d, (one, n), z in zip(b, parts, zs):
                        save(d, one, n, z)
                await page.close()

            n_batches = queue.qsize()
            await asyncio.gather(*(worker(w) for w in range(max(1, min(workers, n_batches)))))
        finally:
            await browser.close()
            bar.close()
            shutil.rmtree(tmp, ignore_errors=True)
    written = tuple(p for _, p in pairs if p in pages)
    return PrintResult(written, pages, zoom, engine=f"Playwright + {exe}")


def _in_thread(coro_fn, *args):
    """Run an async function to completion in a fresh thread with its own event loop (works inside
    JupyterLab/Voilà, whose loop is already running in this thread)."""
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro_fn(*args))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, name="qlwork-pdf", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def print_pdfs(htmls: Sequence[str | Path], pdf_dir: str | Path | None = None, *, progress: bool = True,
               workers: int | None = None, fit: bool = True, use_playwright: bool = True,
               batch: int = DEFAULT_BATCH) -> PrintResult:
    """Print many HTML files to PDF (same name, ``.pdf``) from one browser, ``workers`` tabs at a time,
    reports of one template ``batch`` at a time (one print job, then split; 1 = one job per file).

    Returns a :class:`PrintResult` (PDFs, page count of each, zoom applied per sheet).
    """
    exe = find_chromium()
    if exe is None:
        return PrintResult((), {}, {}, engine="")
    pairs = [(Path(h), (Path(pdf_dir) if pdf_dir else Path(h).parent) / (Path(h).stem + ".pdf")) for h in htmls]
    if not pairs:
        return PrintResult((), {}, {}, engine=exe)
    if use_playwright:
        try:
            return _in_thread(_print_async, pairs, exe, int(workers or default_workers()), progress, fit,
                              max(1, int(batch)))
        except Exception as e:  # noqa: BLE001 - fall back to the command line
            print(f"Playwright 打印失败，改用命令行 (Playwright failed: {e})", file=sys.stderr)
    from tqdm.auto import tqdm

    out, failed, pages = [], [], {}
    for h, p in tqdm(pairs, desc="PDF", unit="份", disable=not progress, leave=False):
        try:
            if html_to_pdf(h, p) is not None:
                out.append(p)
                pages[p] = pdf_page_count(p)
        except _Failed:
            failed.append(h.name)
    return PrintResult(tuple(out), pages, {}, tuple(failed), engine=exe)


def htmls_to_pdf(htmls: Sequence[str | Path], pdf_dir: str | Path | None = None, *, progress: bool = True,
                 use_playwright: bool = True, workers: int | None = None,
                 batch: int = DEFAULT_BATCH) -> tuple[list[Path], str]:
    """Print many HTML files to PDF (same name, ``.pdf``); returns (written, message)."""
    if find_chromium() is None:
        return [], "未找到 Chromium，跳过 PDF (no Chromium found; PDF skipped)"
    r = print_pdfs(htmls, pdf_dir, progress=progress, use_playwright=use_playwright, workers=workers, batch=batch)
    if not r.pdfs and not r.failed:
        return [], ""
    msg = f"PDF {len(r.pdfs)} 份 ({r.engine})"
    if r.failed:
        msg += f"；失败 {len(r.failed)} 份 failed: {list(r.failed[:5])}"
    return list(r.pdfs), msg
