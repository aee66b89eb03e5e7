"""Every notebook in notebooks/ and dashboards/ executes top to bottom on the demo data,
and leaves the demo's ``data/raw`` exactly as it found it (checksums, sizes, modes, mtimes)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from rawsnap import diff, snapshot

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(list((REPO / "notebooks").glob("*.ipynb")) + list((REPO / "dashboards").glob("*.ipynb")))
#: figures a notebook must show when executed (a chart that is built but never displayed
#: leaves a researcher with nothing: ``%matplotlib inline`` and the figure as a cell's last
#: expression, or plt.show())
MIN_IMAGES = {"07_monitoring.ipynb": 4}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: 提交前请清除输出 strip outputs (nbstripout)"
            assert cell.get("execution_count") is None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, demo_root, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("QLWORK_ROOT", str(demo_root))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    before = snapshot(demo_root / "data" / "raw")
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.get("outputs", []))
    assert images >= MIN_IMAGES.get(path.name, 0), f"{path.name}: {images} figures shown"
    assert diff(before, snapshot(demo_root / "data" / "raw")) == [], "notebook wrote into data/raw"
