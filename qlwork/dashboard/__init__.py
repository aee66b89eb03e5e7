"""The review dashboard behind ``dashboards/review.ipynb`` (Voilà)."""
from __future__ import annotations

__all__ = ["build_review_dashboard"]


def build_review_dashboard(*args, **kwargs):
    from .app import build_review_dashboard as _build

    return _build(*args, **kwargs)
