"""Reading the processed store: a missing, corrupt or truncated Parquet file is a located,
bilingual problem that names the command to re-run — never a pyarrow traceback — in the
library, the CLI and the dashboard's data loader."""
from __future__ import annotations

import pandas as pd
import pytest

from qlwork.cli import main
from qlwork.errors import QlworkError
from qlwork.io.store import read_store


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "values.parquet"
    pd.DataFrame({"unit_id": ["U1", "U2"], "period": ["2025H2"] * 2, "indicator_id": ["a", "a"],
                  "value": [1.0, 2.0]}).to_parquet(p)
    return p


def test_reads_a_good_file_and_selects_columns(good):
    t = read_store(good, columns=["unit_id", "value"])
    assert list(t.columns) == ["unit_id", "value"] and t["value"].tolist() == [1.0, 2.0]


def test_missing_file(tmp_path):
    with pytest.raises(QlworkError) as e:
        read_store(tmp_path / "public_2025H2.parquet")
    p = e.value.problems[0]
    assert p.code == "file_not_found" and "qlwork survey" in p.message and "not found" in p.message_en
    assert p.file.endswith("public_2025H2.parquet")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "csv"])
def test_damaged_file_is_named_with_the_command_to_rerun(good, damage):
    data = good.read_bytes()
    good.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\x01not parquet" * 50,
                      "empty": b"", "csv": b"unit_id,value\nU1,1\n"}[damage])
    with pytest.raises(QlworkError) as e:
        read_store(good)
    p = e.value.problems[0]
    assert p.code == "store_unreadable"
    assert p.message.startswith("无法读取 values.parquet") and "qlwork ingest" in p.message
    assert "corrupt, truncated or not Parquet" in p.message_en
    assert p.file == str(good) and "字节" in p.found
    with pytest.raises(QlworkError):  # the column path (schema read) fails the same way
        read_store(good, columns=["unit_id"])


def test_missing_column(good):
    with pytest.raises(QlworkError) as e:
        read_store(good, columns=["unit_id", "source"])
    p = e.value.problems[0]
    assert p.code == "store_missing_column" and p.column == "source" and "unit_id" in p.found


def _project(tmp_path, monkeypatch, good_values: bool):
    proc = tmp_path / "data" / "processed"
    proc.mkdir(parents=True)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (proc / "values.parquet").write_bytes(b"PAR1 truncated")
    pd.DataFrame({"unit_id": ["U1"], "unit_type": ["机关"]}).to_parquet(proc / "units.parquet")
    monkeypatch.setenv("QLWORK_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return proc


def test_cli_reports_a_corrupt_store(tmp_path, monkeypatch, capsys):
    _project(tmp_path, monkeypatch, good_values=False)
    assert main(["score", "--period", "2025H2"]) == 2
    err = capsys.readouterr().err
    assert "无法读取 values.parquet" in err and "qlwork ingest" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["sensitivity", "--period", "2025H2"], ["report", "--period", "2025H2"]])
def test_faces_without_an_official_result_name_the_command(tmp_path, monkeypatch, capsys, argv):
    # sensitivity and reports read the official result (never re-score): without one, the message
    # says which command makes it
    _project(tmp_path, monkeypatch, good_values=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "还没有 2025H2 的正式结果" in err and "qlwork score --period 2025H2" in err and "Traceback" not in err


def test_dashboard_loader_reports_a_corrupt_store(tmp_path, monkeypatch):
    """The dashboard reads the official result: a corrupt ranking file of it is a located,
    bilingual message in the page (no pyarrow text, no traceback)."""
    from qlwork.dashboard.app import build_review_dashboard

    _project(tmp_path, monkeypatch, good_values=False)
    res = tmp_path / "data" / "processed" / "results" / "2025H2"
    res.mkdir(parents=True)
    (res / "manifest.json").write_text('{"period": "2025H2", "specs": {}}', encoding="utf-8")
    (res / "ranking.parquet").write_bytes(b"PAR1 truncated")
    page = build_review_dashboard(tmp_path).widget.children[0].value
    assert "qlwork-error" in page and "无法读取" in page and "ranking.parquet" in page
    assert "Arrow" not in page and "Traceback" not in page
    assert str(tmp_path) not in page and "data/processed/results/2025H2/ranking.parquet" in page  # no server path
