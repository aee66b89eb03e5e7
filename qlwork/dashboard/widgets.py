"""Widget helpers shared by the tabs: error guard, chart images, dropdowns, data-URI downloads.

ipywidgets is imported here and in the tabs only; matplotlib only inside
:func:`figure_png` (first chart), so the first ranking table does not wait for it.
"""
from __future__ import annotations

import base64
import functools
import io
import traceback
from typing import Any, Callable

from .html import error_html, esc

__all__ = ["guarded", "figure_png", "set_options", "data_link", "image", "show_png"]


def guarded(target, context: str = ""):
    """Decorator: run a widget callback, showing any error in ``target`` instead of raising.

    ``target`` is an ``ipywidgets.HTML`` (or a callable returning one) whose value
    becomes a Chinese alert; it is cleared when the callback succeeds.  The traceback
    goes to the server log (stderr), never to the page.
    """
    def deco(fn: Callable):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            box = target() if callable(target) and not hasattr(target, "value") else target
            try:
                out = fn(*a, **k)
            except Exception as e:  # noqa: BLE001 — shown to the user, never swallowed
                box.value = error_html(e, context=context)
                traceback.print_exc()
                return None
            box.value = ""
            return out
        return wrapper
    return deco


def figure_png(fig, dpi: int = 96) -> bytes:
    """PNG bytes of a matplotlib Figure (qlwork.charts returns pyplot-free figures; closed if pyplot knows it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # noqa: BLE001 — a pyplot-free figure needs no closing
        pass
    return buf.getvalue()


def image(cls: str, max_width: str = "100%"):
    """An empty PNG image widget (hidden until it has content: never a broken image)."""
    import ipywidgets as w

    img = w.Image(format="png", layout=w.Layout(max_width=max_width, display="none")).add_class(cls)
    return img


def show_png(img, png: bytes | None):
    """Put ``png`` into ``img``; an empty value hides the image instead of showing a broken one."""
    if png:
        img.value = png
        img.layout.display = ""
    else:
        img.layout.display = "none"
        img.value = b""


def set_options(dd, options: list, value: Any = None):
    """Replace a dropdown's options and select ``value`` (or the first option).

    Observers fire in between: callers guard them with their own busy flag."""
    vals = [o[1] if isinstance(o, tuple) else o for o in options]
    if value not in vals:
        value = vals[0] if vals else None
    if list(dd.options) != list(options):
        dd.options = options
    if dd.value != value:
        dd.value = value


def data_link(data: bytes, filename: str, mime: str, text: str) -> str:
    """A download link carrying the file as a data URI (works offline, no server route needed)."""
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<a class="qlw-download" download="{esc(filename)}" href="data:{mime};base64,{b64}" '
            f'style="margin-right:12px">⬇ {esc(text)}</a>')
