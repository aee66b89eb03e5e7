"""HTML → PDF (and PNG for checks) through headless Chromium, when it is installed.

The HTML reports carry their own ``@page { size: A4 }`` rule, so Chromium's
print-to-PDF gives A4 pages without any layout code here.  A batch is printed
through one Playwright-driven browser when Playwright is importable (one
process start instead of one per file); otherwise, or if that fails, each file
is printed by a ``chromium --headless --print-to-pdf`` subprocess.  Every PDF
is written to a temporary name and renamed (qlwork.io.safe).  Without a
Chromium the caller gets ``None``/an empty list and a message, never an error.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from ..io.safe import atomic_path

__all__ = ["find_chromium", "html_to_pdf", "htmls_to_pdf", "html_to_png", "CHROMIUM_FLAGS"]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars"]


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


def _run(args: list[str], timeout: float) -> bool:
    try:
        r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def html_to_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 60) -> Path | None:
    """Print one HTML file to A4 PDF with the Chromium command line; None when impossible."""
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


class _Failed(RuntimeError):
    pass


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


def _playwright_batch(pairs: Sequence[tuple[Path, Path]], exe: str, progress: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright
    from tqdm.auto import tqdm

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS[1:])
        try:
            page = browser.new_page()
            for html, pdf in tqdm(pairs, desc="PDF", unit="份", disable=not progress, leave=False):
                page.goto(html.resolve().as_uri(), wait_until="load")
                with atomic_path(pdf) as tmp:
                    page.pdf(path=str(tmp), format="A4", print_background=True, prefer_css_page_size=True)
                out.append(pdf)
        finally:
            browser.close()
    return out


def htmls_to_pdf(htmls: Sequence[str | Path], pdf_dir: str | Path | None = None, *, progress: bool = True,
                 use_playwright: bool = True) -> tuple[list[Path], str]:
    """Print many HTML files to PDF (same name, ``.pdf``); returns (written, message)."""
    from tqdm.auto import tqdm

    exe = find_chromium()
    if exe is None:
        return [], "未找到 Chromium，跳过 PDF (no Chromium found; PDF skipped)"
    pairs = [(Path(h), (Path(pdf_dir) if pdf_dir else Path(h).parent) / (Path(h).stem + ".pdf")) for h in htmls]
    if not pairs:
        return [], ""
    if use_playwright and len(pairs) > 2:
        try:
            return _playwright_batch(pairs, exe, progress), f"PDF {len(pairs)} 份 (Playwright + {exe})"
        except Exception as e:  # noqa: BLE001 - fall back to the command line
            print(f"Playwright 打印失败，改用命令行 (Playwright failed: {e})", file=sys.stderr)
    out, failed = [], []
    for h, p in tqdm(pairs, desc="PDF", unit="份", disable=not progress, leave=False):
        try:
            if html_to_pdf(h, p) is not None:
                out.append(p)
        except _Failed:
            failed.append(h.name)
    msg = f"PDF {len(out)} 份 ({exe})" + (f"；失败 {len(failed)} 份 failed: {failed[:5]}" if failed else "")
    return out, msg
