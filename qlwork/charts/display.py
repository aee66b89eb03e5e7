"""Show a chart inline in JupyterLab, Voilà and executed notebooks.

The charts are built without pyplot (:class:`matplotlib.figure.Figure`, so nothing
leaks between cells or dashboard sessions), which means no backend ever displays
them: a cell ending in a figure prints ``<Figure size 630x400 with 1 Axes>``.
:func:`show` renders the figure to PNG in the house style and hands it to IPython's
display machinery, so it appears in JupyterLab, in Voilà and in a notebook executed
by nbclient/papermill (as an ``image/png`` output) alike, whatever ``MPLBACKEND`` is.
:func:`inline` additionally teaches the running IPython shell to display any
Figure that is a cell's last expression the same way.
"""
from __future__ import annotations

import io

from matplotlib.figure import Figure

from .fonts import font_rc

__all__ = ["show", "inline", "figure_png"]

#: Screen resolution of inline charts: 2 × 100 dpi, shown at the figure's size in CSS
#: pixels (sharp on high-density screens, same layout as the report PNGs).
INLINE_DPI = 200


def figure_png(fig: Figure, dpi: int = INLINE_DPI) -> bytes:
    """PNG bytes of ``fig`` (CJK font active while the text is laid out)."""
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context(font_rc()):
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def show(fig: Figure, *, dpi: int = INLINE_DPI, width: int | None = None) -> None:
    """Display ``fig`` inline as a PNG image (an ``image/png`` output of the cell).

    ``width`` in CSS pixels; by default the figure's own width at 100 dpi (a
    6.3-inch A4 chart is 630 px wide).  Outside IPython nothing is shown.
    """
    try:
        from IPython.display import Image, display
    except ImportError:  # plain Python: nothing to display on
        return
    w = int(round(fig.get_figwidth() * 100)) if width is None else int(width)
    display(Image(data=figure_png(fig, dpi), format="png", width=w))


def _png_formatter(fig: Figure):
    return figure_png(fig)


def inline() -> bool:
    """Make a Figure that ends a cell display as a PNG in the running IPython shell.

    Returns False outside IPython.  Idempotent.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    ip.display_formatter.formatters["image/png"].for_type(Figure, _png_formatter)
    return True
