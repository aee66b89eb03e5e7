"""Where the project's data lives, found the same way from notebooks/,
dashboards/, tests/ and the CLI (cookiecutter-data-science's ``config.py``).

The root is, in order: the ``QLWORK_ROOT`` environment variable; the nearest
folder above the current directory that holds ``pyproject.toml`` and
``qlwork/``; the folder above this package (a source checkout); else the
current directory.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "raw_dir", "processed_dir", "reports_dir", "ensure_outside_raw", "PACKAGE_DATA"]

PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def project_root(start: str | os.PathLike | None = None) -> Path:
    env = os.environ.get("QLWORK_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "pyproject.toml").is_file() and (cand / "qlwork").is_dir():
            return cand
    src = Path(__file__).resolve().parent.parent
    if (src / "pyproject.toml").is_file():
        return src
    return here


def raw_dir(root: str | os.PathLike | None = None) -> Path:
    """``data/raw`` — inputs; never modified by any qlwork code."""
    return (Path(root) if root else project_root()) / "data" / "raw"


def processed_dir(root: str | os.PathLike | None = None) -> Path:
    """``data/processed`` — rebuilt by code, safe to delete."""
    return (Path(root) if root else project_root()) / "data" / "processed"


def reports_dir(period: str, root: str | os.PathLike | None = None) -> Path:
    return processed_dir(root) / "reports" / period


def ensure_outside_raw(path: str | os.PathLike, raw: str | os.PathLike | None = None) -> Path:
    """Refuse an output path inside ``data/raw`` (inputs are read-only to qlwork).

    Returns the resolved path; raises :class:`~qlwork.errors.QlworkError` when
    ``path`` is ``raw`` itself or lies beneath it (symlinks resolved, so a link
    into the raw folder is caught too).
    """
    from .errors import Problem, QlworkError

    target = Path(path).resolve()
    raw_path = Path(raw if raw is not None else raw_dir()).resolve()
    if target == raw_path or raw_path in target.parents:
        raise QlworkError(Problem(
            "output_in_raw",
            f"输出位置在原始数据文件夹内：{target}；data/raw 只读，请改用 data/processed 或其他文件夹",
            f"output path is inside the raw-data folder {raw_path}; data/raw is read-only — "
            "write to data/processed or elsewhere",
            file=str(target), found=str(target), expected=f"{raw_path} 以外的位置 a path outside it"))
    return target
