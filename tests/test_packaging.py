"""Packaging: the folder mapping, the wheel's contents, and the import-cost contract."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_allocators_import_no_heavy_libraries():
    code = (
        "import sys, seqfolio.allocators, seqfolio.data; "
        "heavy = [m for m in ('torch', 'backtrader', 'quantstats') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_subpackages_are_mapped_under_seqfolio(tmp_path):
    # In a fresh interpreter outside the repository (pytest may put the repo root on sys.path).
    code = (
        "import importlib.util, sys, seqfolio.allocators, seqfolio.signals, seqfolio.strategies\n"
        "assert seqfolio.allocators.__file__.replace('\\\\', '/').endswith('allocators/__init__.py')\n"
        "top = [n for n in ('allocators', 'signals', 'strategies') if importlib.util.find_spec(n)]\n"
        "ours = [n for n in top if (importlib.util.find_spec(n).origin or '').startswith(sys.argv[1])]\n"
        "print(ours); sys.exit(1 if ours else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_wheel_installs_only_under_seqfolio(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("seqfolio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("seqfolio-")}
    assert top_level == {"seqfolio"}, top_level
    for expected in (
        "seqfolio/allocators/hrp.py",
        "seqfolio/signals/__init__.py",
        "seqfolio/strategies/__init__.py",
        "seqfolio/data/datasets/sp500_20_adjclose_1990_2022.csv.gz",
        "seqfolio/data/datasets/PROVENANCE.md",
    ):
        assert expected in names, expected


def test_the_pandas_and_numpy_floors_are_the_ones_ci_tests():
    # setup.cfg's lowest pandas / numpy are what .ci/floors.txt pins for CI's third environment.
    import configparser

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    requires = {
        line.split(">=")[0].strip(): line.split(">=")[1].strip()
        for line in setup["options"]["install_requires"].splitlines()
        if ">=" in line and not line.strip().startswith("#")
    }
    pins = dict(
        line.strip().split("==")
        for line in (REPO / ".ci" / "floors.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert set(pins) == {"pandas", "numpy"}
    for package, pinned in pins.items():
        floor = requires[package]
        assert pinned.startswith(floor + "."), f"{package}: setup.cfg >={floor}, CI tests {pinned}"
    assert "floors.txt" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_python_versions_claimed_are_the_one_tested():
    # Only Python 3.11 is tested (CI and this machine's torch wheel); `tomllib` is standard from 3.11,
    # so there is no `tomli` fallback to keep (one failed on 3.10 for `seqfolio tune --space FILE`).
    import configparser

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    assert setup["options"]["python_requires"].strip() == ">=3.11, <3.12"
    versions = [
        line.strip().rsplit(":: ", 1)[1]
        for line in setup["metadata"]["classifiers"].splitlines()
        if line.strip().startswith("Programming Language :: Python :: 3.")
    ]
    assert versions == ["3.11"]
    assert "Python 3.11" in (REPO / "README.md").read_text(encoding="utf-8")
    tracked = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout.split()
    mentions = [
        name
        for name in tracked
        if name.endswith((".py", ".cfg", ".toml", ".md", ".txt"))
        and name != "tests/test_packaging.py"
        and re.search(r"\btomli\b", (REPO / name).read_text(encoding="utf-8"))
    ]
    assert mentions == []
