"""The three-indicator framework the ingest and validation tests build their mini raw folders on
(one goal; a count, a percentage, and a count that applies to 学校 only).  The bad-input corpus
generator (tests/bad_inputs/make_corpus.py) keeps its own copy so it runs standalone."""

FW = {"id": "T", "name": "测试框架", "unit_types": ["机关", "学校"], "children": [
    {"id": "A", "name": "甲", "weight": 1.0, "children": [
        {"id": "cnt", "name": "问题数", "direction": -1, "unit": "件", "source": "纪检监察", "kind": "count",
         "weight": 0.5, "range": [0, None]},
        {"id": "pct", "name": "整改率", "direction": 1, "unit": "%", "source": "纪检监察", "kind": "percent",
         "weight": 0.3, "range": [0, 100]},
        {"id": "sch", "name": "乱收费数", "direction": -1, "unit": "件", "source": "纪检监察", "kind": "count",
         "weight": 0.2, "range": [0, None], "applies_to": ["学校"]}]}]}
