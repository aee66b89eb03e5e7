"""Shared fixtures.

``demo_root``: a temporary project root holding the county-scale demo province
in ``data/raw`` (``qlwork.demo.generate_demo``), its ingested tables in
``data/processed`` (``qlwork.io.build.ingest(exclude_invalid=True)``) and the
official result of every period (``qlwork.workflow.score``), built once per test
session.  ``demo_root_full`` adds what ``make data`` adds (survey, weights,
re-scoring with the survey's public scores, sensitivity).  Subprocesses (CLI, notebooks, Voilà) find it through the
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
    from qlwork.io.build import ingest

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
    # the official result of every period (what reports, notebooks and the dashboard read)
    from qlwork.workflow import Project, score

    score(Project.open(root), "all", command="qlwork score --period all")
    return root


#: what ``make data`` runs after ingest, so the dashboard shows every view (see the Makefile)
FULL_STEPS = (
    ["weights"],
    *(["survey", "--period", p] for p in ("2024H1", "2024H2", "2025H1", "2025H2")),
    ["score", "--period", "all"],
    ["sensitivity", "--period", "2025H2", "--draws", "400", "--no-progress"],
)


@pytest.fixture(scope="session")
def demo_root_full(demo_root, tmp_path_factory) -> Path:
    """``demo_root`` plus what ``make dashboard`` builds for the review meeting: AHP
    weights, survey estimates for every period and the latest period's sensitivity
    analysis, written by the same ``qlwork`` sub-commands (in-process) on a copy."""
    from contextlib import redirect_stdout
    from io import StringIO

    from qlwork.cli import main

    root = tmp_path_factory.mktemp("demo_full") / "project"
    shutil.copytree(demo_root, root)
    old = os.environ.get("QLWORK_ROOT")
    os.environ["QLWORK_ROOT"] = str(root)
    try:
        for argv in FULL_STEPS:
            out = StringIO()
            with redirect_stdout(out):
                rc = main(argv)
            assert rc == 0, f"qlwork {' '.join(argv)} → {rc}\n{out.getvalue()[-2000:]}"
    finally:
        if old is None:
            os.environ.pop("QLWORK_ROOT", None)
        else:
            os.environ["QLWORK_ROOT"] = old
    return root


@pytest.fixture(scope="session")
def demo_env(demo_root) -> dict[str, str]:
    env = dict(os.environ)
    env["QLWORK_ROOT"] = str(demo_root)
    env.setdefault("MPLBACKEND", "Agg")
    return env
