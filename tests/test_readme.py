"""The README is a contract (issue 21): its blocks run in README order, in one fresh folder.

Every fenced ``bash`` block is a list of commands (one a line; ``  # ...`` is a comment) and every
``python`` block a script; each command and each script is one test case, run in README order in a
folder that starts empty, and must exit 0. A bare fenced block marked ``output`` is what the
block before it printed: each of its lines must be a line of that block's standard output, in order,
exactly (so only outputs meant to be reproduced to the digit are marked).

An HTML comment right before a block tells this test how to run it, never more than the README
itself says (a reader sees the comment's effect in the prose next to the block)::

    <!-- readme-test
    installed: <why>             run what follows "&&" (the install is this environment's)
    skip: <why>                  not run (e.g. the test suite itself)
    files: a.csv b.toml          make these inputs first (FILES below: made from the bundled data)
    flags: --end 2011-12-31      append to every seqfolio command of the block; the README must show
    flags tune: --trials 4       the same text in backticks (its documented quick form)
    scheduler: <why>             tcp://host:8786 is a local Dask cluster this test starts
    xfail: <command> | <why>     the command is expected to fail until <why> is fixed (strict: a
                                 pass is reported, so the mark is removed then)
    output                       (before a bare block) the previous block printed these lines
    -->
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
TIMEOUT = 3600  # seconds per command: the full-period LSTM runs take minutes on 2 cores


def _bundled_prices(path: Path) -> None:
    from seqfolio.data import load_sample

    load_sample("2004-01-01", "2022-12-31").to_csv(path)


def _bundled_index(path: Path) -> None:
    from seqfolio.data import load_benchmark

    load_benchmark().loc["2004-01-01":].rename("INDEX").to_csv(path)


FILES = {
    # a user's own prices and index, as the README's command line names them
    "my_prices.csv": _bundled_prices,
    "my_index.csv": _bundled_index,
    "run.toml": lambda path: path.write_text(
        'allocator = "herc"\nrebalance = "quarterly"\nstart = 2010-01-01\ncash_buffer = 0.03\n'
    ),
    # the study of "LSTM pipelines in studies and tuning" (a small network: this is a smoke run)
    "study.toml": lambda path: path.write_text(
        'allocators = "hrp,herc"\nsignal = "lstm-vol"\n\n[model]\nwindow = 20\nhidden_size = 8\n'
        "max_epochs = 2\n"
    ),
}


@dataclass
class Case:
    """One command or script of the README, with what the comment before its block says."""

    kind: str  # "bash" or "python"
    text: str  # the command as run, or the script
    line: int  # where its block starts in the README
    files: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    xfail: str | None = None
    scheduler: bool = False

    @property
    def id(self) -> str:
        first = self.text.strip().splitlines()[0]
        return f"L{self.line}:{first[:60]}"


_BLOCK = re.compile(r"(?:<!-- readme-test\n(?P<directives>.*?)-->\n+)?```(?P<lang>\w*)\n(?P<body>.*?)```",
                    re.S)  # fmt: skip


def _directives(text: str | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in (text or "").strip().splitlines():
        key, _, value = raw.partition(":")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def _command(line: str, directives: dict[str, list[str]]) -> str:
    """The README line as run: comment dropped, the install skipped, documented flags appended."""
    command = line.split("  #")[0].strip()
    if "installed" in directives:
        command = command.split("&&")[-1].strip()
    words = shlex.split(command)
    if len(words) > 1 and words[0] == "seqfolio" and not words[1].startswith("-"):
        for key, values in directives.items():
            if key == "flags" or key == f"flags {words[1]}":
                command += " " + " ".join(values)
    return command


def readme_cases(text: str) -> list[Case]:
    """The README's commands and scripts in order (see the module notes)."""
    cases: list[Case] = []
    for match in _BLOCK.finditer(text):
        directives = _directives(match["directives"])
        line = text.count("\n", 0, match.start("lang")) + 1
        body = match["body"]
        if "output" in directives:
            assert cases, f"README line {line}: an output block before any command"
            cases[-1].expected = [x for x in body.splitlines() if x.strip()]
            continue
        if match["lang"] not in ("bash", "python") or "skip" in directives:
            continue
        for flags in (v for k, vs in directives.items() if k.startswith("flags") for v in vs):
            assert f"`{flags}`" in text, (
                f"README line {line}: the quick form {flags!r} is not shown"
            )
        if match["lang"] == "python":
            block = [Case("python", body, line)]
        else:
            commands = [x for x in body.splitlines() if x.strip() and not x.startswith("#")]
            block = [Case("bash", _command(x, directives), line) for x in commands]
        block[0].files = " ".join(directives.get("files", [])).split()
        for case in block:
            case.scheduler = "scheduler" in directives and "tcp://host:8786" in case.text
            for value in directives.get("xfail", []):
                prefix, _, why = value.partition("|")
                if case.text.startswith(prefix.strip()):
                    case.xfail = why.strip()
        cases += block
    return cases


CASES = readme_cases(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one folder every case runs in, in README order (later commands read earlier output)."""
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def dask_address() -> object:
    """A local Dask cluster for ``--scheduler tcp://host:8786`` (started on first use)."""
    clusters: list = []

    def address() -> str:
        if not clusters:
            from distributed import LocalCluster

            clusters.append(LocalCluster(n_workers=2, threads_per_worker=1, processes=True))
        return clusters[0].scheduler_address

    yield address
    for cluster in clusters:
        cluster.close()


def _run(case: Case, folder: Path, dask_address: object) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if case.kind == "python":
        script = folder / f"readme_line_{case.line}.py"
        script.write_text(case.text, encoding="utf-8")
        argv = [sys.executable, script.name]
    else:
        text = case.text.replace("tcp://host:8786", dask_address()) if case.scheduler else case.text
        argv = ["bash", "-c", text]
    return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)  # fmt: skip


def test_readme_has_runnable_blocks():
    """The README's own blocks are found (a format change must not make this test vacuous)."""
    kinds = [c.kind for c in CASES]
    assert kinds.count("python") >= 6 and kinds.count("bash") >= 15
    assert CASES[0].text == "seqfolio backtest" and CASES[0].expected


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)] * bool(c.xfail))
        for c in CASES
    ],
)  # fmt: skip
def test_readme_block(case: Case, folder: Path, dask_address: object) -> None:
    for name in case.files:
        FILES[name](folder / name)
    done = _run(case, folder, dask_address)
    tail = "\n".join(done.stderr.strip().splitlines()[-5:])
    assert done.returncode == 0, (
        f"README line {case.line}: {case.text!r} exited {done.returncode}:\n{tail}"
    )
    printed = done.stdout.splitlines()
    position = 0
    for expected in case.expected:  # each shown line, exactly, in order
        assert expected in printed[position:], (
            f"README line {case.line}: {case.text!r} did not print {expected!r}; it printed:\n"
            + done.stdout
        )
        position = printed.index(expected, position) + 1
