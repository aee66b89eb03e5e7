"""A project: its folders and everything the tasks read from them, each read one way.

:class:`Project` is what the CLI, the notebooks and the dashboard open first::

    from qlwork.workflow import Project
    prj = Project.open()            # the project root (QLWORK_ROOT or the nearest checkout)
    prj.frameworks()                # {framework id: Framework}, from data/raw (built-ins when none)
    prj.units(), prj.values()       # the processed store (located errors when missing)
    prj.registers()                 # (veto events, bonus items)
    prj.public("2025H2")            # the survey output for that period, or None
    prj.spec("QLI")                 # the framework's default IndexSpec (+ overrides / a spec file)

Frameworks are keyed by their id (QLI, QLV) — the registry's ``framework`` column
names the file key (``county`` → ``framework_county.yaml``), resolved here once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .. import paths
from ..errors import Problem, QlworkError
from ..framework import Framework
from ..io.catalogue import path_of, read_table
from ..spec import IndexSpec, load_specs, spec_for

__all__ = ["Project", "sha256_file"]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(chunk), b""):
            h.update(b)
    return h.hexdigest()


@dataclass(frozen=True)
class Project:
    """The folders of one project and cached readers of its inputs."""

    root: Path
    raw: Path
    processed: Path
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def open(cls, root: str | Path | None = None, *, raw: str | Path | None = None,
             processed: str | Path | None = None) -> "Project":
        r = paths.project_root(root) if root is not None or (raw is None or processed is None) else Path.cwd()
        return cls(Path(r), Path(raw) if raw else paths.raw_dir(r), Path(processed) if processed else paths.processed_dir(r))

    def rel(self, p: str | Path) -> str:
        """A path as the user should read it: relative to the project root when inside it."""
        try:
            return Path(p).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return Path(p).name

    # ------------------------------------------------------------ inputs
    def frameworks(self) -> dict[str, Framework]:
        """Framework id → Framework (from the raw folder; the built-in ones when it has none)."""
        if "fw" not in self._cache:
            from ..io.ingest import load_frameworks

            by_key = load_frameworks(self.raw)
            self._cache["fw_by_key"] = by_key
            self._cache["fw_keys"] = {k: fw.id for k, fw in by_key.items()}
            self._cache["fw"] = {fw.id: fw for fw in by_key.values()}
        return self._cache["fw"]

    def frameworks_by_key(self) -> dict[str, Framework]:
        """Registry key (county / village …) → Framework, as ``units.parquet``'s ``framework`` column names them."""
        self.frameworks()
        return self._cache["fw_by_key"]

    def framework_keys(self) -> dict[str, str]:
        """Registry key (county / village …) → framework id."""
        self.frameworks()
        return self._cache["fw_keys"]

    def units(self) -> pd.DataFrame:
        """The registry (``units.parquet``) with a ``framework_id`` column."""
        if "units" not in self._cache:
            u = read_table("units", self.processed)
            keys = self.framework_keys()
            if "framework" in u.columns:
                fid = u["framework"].astype(str).map(lambda k: keys.get(k, k))
            else:
                fid = pd.Series(next(iter(self.frameworks())), index=u.index)
            self._cache["units"] = u.assign(framework_id=fid.to_numpy())
        return self._cache["units"]

    def values(self) -> pd.DataFrame:
        if "values" not in self._cache:
            self._cache["values"] = read_table("values", self.processed)
        return self._cache["values"]

    def values_fine(self) -> pd.DataFrame:
        """Monthly and quarterly values and denominators as submitted (``values_fine.parquet``)."""
        if "values_fine" not in self._cache:
            self._cache["values_fine"] = read_table("values_fine", self.processed)
        return self._cache["values_fine"]

    def periods(self) -> list[str]:
        return sorted(self.values()["period"].astype(str).unique())

    def registers(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(veto events, bonus items) from the processed store; None when ingest wrote none."""
        if "registers" not in self._cache:
            out = []
            for name in ("veto", "bonus"):
                p = path_of(name, self.processed)
                out.append(read_table(name, self.processed) if p.is_file() else None)
            self._cache["registers"] = tuple(out)
        return self._cache["registers"]

    def public_path(self, period: str) -> Path:
        return path_of("public", self.processed, period=period)

    def public(self, periods, *, file: str | Path | None = None) -> pd.DataFrame | None:
        """The survey output for the given periods stacked (with a ``period`` column), or None.

        ``file``: a public-score file instead (``qlwork survey`` output or a table
        unit_id[, period], public[, public_se]).
        """
        if file is not None:
            from ..io.store import read_user_table  # type, size, encoding and columns checked, located

            return read_user_table(Path(file), required=("unit_id",), any_of=("public", "score", "estimate", "mean"),
                                   what="群众评价得分文件")
        parts = []
        for per in ([periods] if isinstance(periods, str) else list(periods)):
            p = self.public_path(per)
            if p.is_file():
                t = read_table("public", self.processed, period=per)
                parts.append(t.assign(period=per) if "period" not in t.columns else t)
        return pd.concat(parts, ignore_index=True) if parts else None

    # ------------------------------------------------------------ specs
    def spec(self, framework_id: str, overrides: Mapping[str, Any] | None = None, *,
             spec_file: str | Path | None = None, weights_file: str | Path | None = None) -> IndexSpec:
        """The spec of one framework: its defaults, then the spec file, the weights file, the overrides."""
        fws = self.frameworks()
        if framework_id not in fws:
            raise QlworkError(Problem("unknown_framework", f"没有指标体系 {framework_id}", "unknown framework",
                                      found=framework_id, expected="、".join(fws)))
        fw = fws[framework_id]
        over: dict = {}
        if spec_file is not None:
            specs = load_specs(spec_file)
            over.update(specs.get(framework_id, {}))
        if weights_file is not None:
            w = self.weights_from_file(weights_file, framework_id)
            if w is not None:
                over["weights"] = w
        over.update(dict(overrides or {}))
        return spec_for(fw, over)

    def weights_from_file(self, path: str | Path, framework_id: str) -> dict | None:
        """Local weights of one framework from a ``qlwork weights`` output (.parquet/.csv)."""
        from ..io.store import read_user_table  # type, size, encoding checked, located

        p = Path(path)
        t = read_user_table(p, what="权重文件")
        need = {"framework", "id", "local_weight"}
        if not need <= set(t.columns):
            raise QlworkError(Problem("bad_weights_file", "权重文件缺少列", "the weights file lacks columns",
                                      file=self.rel(p), found=list(t.columns), expected="framework、id、local_weight"))
        fw = self.frameworks()[framework_id]
        keys = {k for k, v in self.framework_keys().items() if v == framework_id} | {framework_id}
        sub = t[t["framework"].astype(str).isin(keys)]
        if sub.empty:
            return None
        vals = {str(r.id): float(r.local_weight) for r in sub.itertuples() if str(r.id) != fw.root}
        unknown = sorted(set(vals) - set(fw.local_weights().index))
        if unknown:
            raise QlworkError(Problem("bad_weights_file", f"权重文件中有指标体系没有的编号 {unknown[:5]}",
                                      "ids in the weights file are not in the framework", file=self.rel(p),
                                      found=unknown[:5], expected="指标体系中的节点或指标编号"))
        method = str(sub["method"].iloc[0]) if "method" in sub.columns else None
        return {"source": "file", "path": self.rel(p), "method": method, "values": vals}
