"""pyproject.toml and environment.yml name the same dependencies; set-up files exist."""
from __future__ import annotations

import re

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name where they differ; extras expand to extra packages.
CONDA_NAME = {"salib": "salib", "pyyaml": "pyyaml", "dask": "dask"}
EXTRA_PACKAGES = {"dask": {"distributed"}}


def _name(req: str) -> str:
    return re.split(r"[\[<>=!~; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _min_version(req: str) -> str | None:
    m = re.search(r">=\s*([0-9][^,; ]*)", req)
    return m.group(1) if m else None


def _max_version(req: str) -> str | None:
    m = re.search(r"<\s*([0-9][^,; ]*)", req)
    return m.group(1) if m else None


def _specs(reqs) -> dict[str, str]:
    """name → the full requirement string (pip and conda spell ``>=a,<b`` the same way)."""
    return {_name(r): r.strip() for r in reqs if not r.startswith("-e")}


def _pyproject() -> dict[str, str | None]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    out = {}
    for r in reqs:
        n = _name(r)
        out[CONDA_NAME.get(n, n)] = _min_version(r)
        for extra in EXTRA_PACKAGES.get(n, ()):
            out.setdefault(extra, _min_version(r))
    return out


def _environment() -> dict[str, str | None]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for r in dep.get("pip", []):
                if r.startswith("-e"):
                    continue
                out[_name(r)] = _min_version(r)
        else:
            n = _name(dep)
            if n not in ("python", "pip"):
                out[n] = _min_version(dep)
    return out


def test_dependency_lists_agree():
    pp, env = _pyproject(), _environment()
    assert set(pp) == set(env), (
        f"只在 pyproject.toml: {sorted(set(pp) - set(env))}; 只在 environment.yml: {sorted(set(env) - set(pp))}")
    diff = {k: (pp[k], env[k]) for k in pp if pp[k] != env[k]}
    assert not diff, f"最低版本不一致 minimum versions differ: {diff}"


def test_environment_installs_the_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert "-e ." in pip


def test_required_stack_present():
    pp = _pyproject()
    for name in ["jupyterlab", "pandas", "statsmodels", "matplotlib", "ipywidgets", "voila", "openpyxl", "pyarrow"]:
        assert name in pp
    assert tuple(int(x) for x in pp["voila"].split(".")[:3]) >= (0, 5, 8)
    assert tuple(int(x) for x in pp["ipywidgets"].split(".")[:2]) >= (8, 1)
    assert int(pp["jupyterlab"].split(".")[0]) >= 4


def test_console_script_and_layout():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["scripts"]["qlwork"] == "qlwork.cli:main"
    for d in ["notebooks", "qlwork", "data/raw", "data/processed", "dashboards", "tests", "docs", ".ci"]:
        assert (ROOT / d).exists(), d
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make dashboard" in readme and "make test" in readme


def test_cli_help_lists_commands():
    from qlwork.cli import build_parser

    text = build_parser().format_help()
    assert "qlwork" in text


def test_jupyter_stack_is_pinned_to_one_major_in_both_files():
    """voila 0.5 renders ipywidgets 8 widgets in JupyterLab 4: pin all three to those series in both lists,
    so a new major of one cannot break the dashboards while the other two stay behind."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pp = _specs(data["project"]["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    ce = _specs([d for d in env["dependencies"] if isinstance(d, str)])
    want = {"voila": "0.6", "ipywidgets": "9", "jupyterlab": "5"}
    for name, upper in want.items():
        assert _max_version(pp[name]) == upper, pp[name]
        assert _max_version(ce[name]) == upper, ce[name]
    # and the installed versions are inside the pins
    from importlib.metadata import version

    for name, upper in want.items():
        got = tuple(int(x) for x in re.findall(r"\d+", version(name))[:2])
        lo = tuple(int(x) for x in _min_version(pp[name]).split(".")[:2])
        hi = tuple(int(x) for x in (upper.split(".") + ["0"])[:2])
        assert lo <= got < hi, (name, version(name))


def test_make_data_builds_what_the_test_dashboard_shows():
    """`make dashboard` and the browser tests' demo (conftest.FULL_STEPS) run the same steps."""
    import re

    from conftest import FULL_STEPS

    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    periods = re.search(r"^PERIODS := (.+)$", mk, re.M).group(1).split()
    latest = re.search(r"^LATEST := (\S+)$", mk, re.M).group(1)
    assert sorted(a[2] for a in FULL_STEPS if a[0] == "survey") == sorted(periods)
    assert [a[:3] for a in FULL_STEPS if a[0] == "sensitivity"] == [["sensitivity", "--period", latest]]
    assert ["weights"] in [list(a) for a in FULL_STEPS]
    assert [a[:3] for a in FULL_STEPS if a[0] == "monitor"] == [["monitor", "--period", latest]]
    assert re.search(r"^\t\$\(QLWORK\) monitor --period \$\(LATEST\)$", mk, re.M)
    data_rule = re.search(r"^data: (.+)$", mk, re.M).group(1)
    for target in ("$(SCORES)", "$(WEIGHTS)", "$(PUBLIC)", "$(SENSITIVITY)", "$(LEDGER)", "$(REGIONS)", "$(ALERTS)"):
        assert target in data_rule
    # follow-through: the demo registers, the ledger on the same date, the regions (docs/follow_through.md)
    as_of = re.search(r"^LEDGER_AS_OF \?= (\S+)$", mk, re.M).group(1)
    assert ["demo", "--follow-through"] in [list(a) for a in FULL_STEPS]
    assert ["ledger", "update", "--period", latest, "--as-of", as_of, "--exclude-invalid"] in [list(a) for a in FULL_STEPS]
    assert ["regions", "--period", latest] in [list(a) for a in FULL_STEPS]


def test_make_lab_runs_as_root():
    """Jupyter refuses to start as root without --allow-root; ``make lab`` adds it only for root."""
    import os
    import shutil
    import subprocess

    import pytest

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", "-o", "data", "lab"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if "jupyter lab" in ln)
    assert ("--allow-root" in line) == (os.getuid() == 0) and line.rstrip().endswith("notebooks/")
