"""Reading the follow-through registers of a raw folder: the rectification ledger and the risk register.

Both live in ``<raw>/registers/`` (:mod:`.ledger`, :mod:`.risk`); an absent file is ``None``
(not an error).  Used by validation and ingest (:mod:`qlwork.io.validate`) and by the
follow-through tasks (:mod:`qlwork.workflow.follow_through`), so both see the same rows and
the same located problems.
"""
from __future__ import annotations


from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..errors import Problem
from ..io.guard import raw_label
from .ledger import LEDGER, read_ledger
from .risk import RISK, read_risk_register
from .rules import REGISTER_DIR, _present

__all__ = ["FollowRegisters", "read_follow_registers"]


@dataclass(frozen=True)
class FollowRegisters:
    """The ledger and risk registers as read from ``data/raw/registers/`` (valid rows), with every problem."""

    ledger: pd.DataFrame | None  # None when the file is absent
    ledger_rows: pd.DataFrame | None  # every row read, ``_bad`` marking rows with an error
    risk: pd.DataFrame | None
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def read_follow_registers(raw: Path, *, units: pd.DataFrame | None, frameworks: Mapping | None, periods=None,
                          period_parser=None, base: Path | None = None) -> FollowRegisters:
    """Read both registers from ``<raw>/registers/`` (absent → None), every problem located."""
    d = Path(raw) / REGISTER_DIR
    probs: list[Problem] = []

    def lab(p: Path) -> str:  # the name as written under the raw folder, not a link target's
        return raw_label(p, base or Path(raw), default=p.name)

    risk = risk_rows = None
    rp = d / RISK.file_name
    if _present(rp):  # a folder, pipe or broken link named like the register is reported, never skipped
        risk_rows, pr = read_risk_register(rp, units=units, label=lab(rp), root=Path(raw))
        probs += pr
        risk = risk_rows[~risk_rows["_bad"].astype(bool)].reset_index(drop=True)
    ledger = rows = None
    lp = d / LEDGER.file_name
    if _present(lp):
        # links are checked against every registered point, also those on a row with an error (no echo)
        rows, pr = read_ledger(lp, units=units, frameworks=frameworks, risk=risk_rows, periods=periods, label=lab(lp),
                               period_parser=period_parser, root=Path(raw))
        probs += pr
        fw_of = ({} if units is None or "framework" not in units.columns
                 else dict(zip(units["unit_id"].astype(str), units["framework"].astype(str))))
        rows["framework"] = rows["unit_id"].map(lambda u: fw_of.get(str(u)))
        ledger = rows[~rows["_bad"].astype(bool)].reset_index(drop=True)
    return FollowRegisters(ledger, rows, risk, tuple(probs))
