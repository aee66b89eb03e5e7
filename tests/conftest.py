"""Shared fixtures.

``demo_root``: a temporary project root holding the county-scale demo province
in ``data/raw`` (``qlwork.demo.generate_demo``) and its ingested tables in
``data/processed`` (``qlwork.ingest.ingest(exclude_invalid=True)``), built once
per test session.  Subprocesses (CLI, notebooks, Voilà) find it through the
``QLWORK_ROOT`` variable in ``demo_env``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    from qlwork.demo import generate_demo
    from qlwork.ingest import ingest

    root = tmp_path_factory.mktemp("demo_project")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "processed").mkdir(parents=True)
    # A project root looks like the repo: notebooks and dashboards resolve data from it.
    (root / "pyproject.toml").write_text("# qlwork demo root for tests\n", encoding="utf-8")
    (root / "qlwork").mkdir()
    for d in ("notebooks", "dashboards"):
        src = REPO / d
        if src.is_dir():
            shutil.copytree(src, root / d)
    generate_demo(root / "data" / "raw", scale="county")
    ingest(root / "data" / "raw", root / "data" / "processed", exclude_invalid=True)
    return root


@pytest.fixture(scope="session")
def demo_env(demo_root) -> dict[str, str]:
    env = dict(os.environ)
    env["QLWORK_ROOT"] = str(demo_root)
    env.setdefault("MPLBACKEND", "Agg")
    return env
