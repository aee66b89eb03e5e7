"""The review dashboard (评审看板) behind ``dashboards/review.ipynb`` (Voilà).

Package layout (docs/dashboard.md):

* :mod:`.data` — :class:`DashboardData`: the official results, sensitivity, ingestion
  problems and weight presets, read through :mod:`qlwork.workflow` (nothing is scored here);
* :mod:`.state` — :class:`Filters` (评价期, 指标体系, 市州, 县市区, 乡镇, 单位类型), the
  selected unit and a version every change bumps;
* :mod:`.app` — :class:`ReviewDashboard`: header, filter bar, tabs, error guard;
* :mod:`.tabs` — one module per tab and the tab registry (:func:`register_tab`);
* :mod:`.html`, :mod:`.widgets` — small shared helpers;
* ``share/voila/templates/qlwork`` — the Voilà template without CDN links.

Importing this package is cheap; :func:`build_review_dashboard` imports the rest.
"""
from __future__ import annotations

__all__ = ["build_review_dashboard", "ReviewDashboard", "DashboardData", "VOILA_TEMPLATE", "voila_share_dir"]

#: name of the Voilà template ``qlwork dashboard`` selects (share/voila/templates/qlwork)
VOILA_TEMPLATE = "qlwork"


def voila_share_dir():
    """The folder to put on ``JUPYTER_PATH`` so that Voilà finds the ``qlwork`` template."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "share"


def build_review_dashboard(*args, **kwargs):
    from .app import build_review_dashboard as _build

    return _build(*args, **kwargs)


def __getattr__(name):
    if name == "ReviewDashboard":
        from .app import ReviewDashboard

        return ReviewDashboard
    if name == "DashboardData":
        from .data import DashboardData

        return DashboardData
    raise AttributeError(name)
