"""Atomic writes: a writer that dies mid-file leaves the previous file (or none) and no temporary litter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqfolio._atomic import atomic_path, atomic_savefig, atomic_write_bytes, atomic_write_text


class Crash(RuntimeError):
    """Stands in for a process dying mid-write."""


def _litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp-" in p.name or p.suffix == ".partial")


def test_write_text_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.csv"
    atomic_write_text(path, "x,y\n1,2\n")
    atomic_write_text(path, "x,y\n3,4\n")
    assert path.read_text() == "x,y\n3,4\n"
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _litter(tmp_path) == []


@pytest.mark.parametrize("error", [Crash, KeyboardInterrupt])
def test_crash_mid_write_keeps_previous_file(tmp_path: Path, error: type[BaseException]) -> None:
    path = tmp_path / "report.md"
    atomic_write_text(path, "old complete report\n")
    with pytest.raises(error):
        with atomic_path(path) as tmp:
            tmp.write_text("new half-writ")
            raise error()
    assert path.read_text() == "old complete report\n"
    assert _litter(tmp_path) == []


def test_crash_on_first_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    with pytest.raises(Crash):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise Crash()
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_savefig_crash_keeps_previous_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    from seqfolio.reporting import plot_weights

    index = pd.bdate_range("2020-01-01", periods=20)
    weights = pd.DataFrame({"A": 0.5, "B": 0.5}, index=index)
    path = plot_weights(weights, tmp_path / "w.png")
    before = path.read_bytes()

    def half_savefig(self, fname, **kwargs):  # noqa: ANN001, ANN202
        Path(fname).write_bytes(b"\x89PNG half")
        raise Crash("killed while drawing")

    monkeypatch.setattr(Figure, "savefig", half_savefig)
    with pytest.raises(Crash):
        plot_weights(weights * 0.9, path)
    with pytest.raises(Crash):
        atomic_savefig(Figure(), tmp_path / "other.png")
    assert path.read_bytes() == before
    assert not (tmp_path / "other.png").exists()
    assert _litter(tmp_path) == []


@pytest.mark.filterwarnings("ignore")
def test_tearsheet_crash_keeps_previous_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quantstats as qs

    from seqfolio.reporting import tearsheet

    path = tmp_path / "tearsheet.html"
    path.write_text("<html>previous complete tear sheet</html>")
    returns = pd.Series(
        np.random.default_rng(0).normal(0, 0.01, 60), index=pd.bdate_range("2020-01-01", periods=60)
    )
    seen = {}

    def half_html(strategy, output, **kwargs):  # noqa: ANN001, ANN202
        seen["output"] = output
        Path(output).write_text("<html><body>half")
        raise Crash("killed while rendering")

    monkeypatch.setattr(qs.reports, "html", half_html)
    with pytest.raises(Crash):
        tearsheet(returns, output=path)
    assert Path(seen["output"]).parent == tmp_path and Path(seen["output"]) != path
    assert path.read_text() == "<html>previous complete tear sheet</html>"
    assert _litter(tmp_path) == []

    def no_html(strategy, output, **kwargs):  # noqa: ANN001, ANN202 - QuantStats failing silently
        return None

    monkeypatch.setattr(qs.reports, "html", no_html)
    with pytest.raises(RuntimeError, match="did not write"):
        tearsheet(returns, output=path)
    assert path.read_text() == "<html>previous complete tear sheet</html>"
    assert _litter(tmp_path) == []


def test_research_report_crash_keeps_previous_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqfolio.research import report

    table = pd.DataFrame({"sharpe": [1.0, 0.5]}, index=["a", "b"])
    report._write_table(table, tmp_path, "summary")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    real = report.atomic_write_text

    def dies_on_md(path, text):  # noqa: ANN001, ANN202
        if str(path).endswith(".md"):
            with atomic_path(path) as tmp:
                tmp.write_text(text[: len(text) // 2])
                raise Crash()
        return real(path, text)

    monkeypatch.setattr(report, "atomic_write_text", dies_on_md)
    with pytest.raises(Crash):
        report._write_table(table * 2, tmp_path, "summary")
    assert (tmp_path / "summary.md").read_bytes() == before["summary.md"]
    assert _litter(tmp_path) == []


def test_checkpoint_crash_mid_save_leaves_no_checkpoint(tmp_path: Path) -> None:
    from seqfolio.pipeline import CheckpointStore

    class HalfSaved:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"PK\x03\x04 truncated torch zip")
            raise Crash("killed during torch.save")

    class Saved:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"complete")

    store = CheckpointStore(tmp_path)
    path = store.path_for(1, pd.Timestamp("2020-01-02"), "ab" * 32)
    with pytest.raises(Crash):
        store.save(HalfSaved(), path)
    assert store.find(1, pd.Timestamp("2020-01-02"), "ab" * 32) is None
    assert _litter(tmp_path) == []
    store.save(Saved(), path)
    with pytest.raises(Crash):
        store.save(HalfSaved(), path)
    assert path.read_bytes() == b"complete"
    assert _litter(tmp_path) == []


def test_cli_writes_go_through_the_helper() -> None:
    """Every file the CLI, reporting and research reports write uses seqfolio._atomic."""
    import seqfolio

    root = Path(seqfolio.__file__).parent
    offenders = []
    names = [f"cli/{p.name}" for p in (root / "cli").glob("*.py")]
    for name in [*names, "reporting.py", "research/report.py"]:
        text = (root / name).read_text(encoding="utf-8")
        for needle in (
            ".to_csv(out",
            ".to_csv(path",
            ".write_text(",
            ".savefig(path",
            "output=str(path)",
        ):
            if needle in text:
                offenders.append(f"{name}: {needle}")
    assert offenders == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_write_keeps_previous_file(tmp_path: Path) -> None:
    """A real kill -9 while a large file is being written: the previous file survives intact."""
    path = tmp_path / "returns.csv"
    atomic_write_text(path, "old\n")
    script = textwrap.dedent(
        f"""
        import sys, time
        from seqfolio._atomic import atomic_path
        with atomic_path({str(path)!r}) as tmp:
            with open(tmp, "w") as handle:
                handle.write("partial" * 1000)
                handle.flush()
                print("writing", flush=True)
                time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert path.read_text() == "old\n"
    # SIGKILL cannot run clean-up: the only trace is a hidden temporary file, never the real name.
    assert all(name.startswith(".returns.csv.") for name in _litter(tmp_path))


def test_confined_refuses_names_that_leave_the_output_folder(tmp_path: Path) -> None:
    from seqfolio._atomic import confined

    assert confined(tmp_path, "tearsheet_hrp.html") == tmp_path / "tearsheet_hrp.html"
    assert confined(tmp_path, "checkpoints/a.pt") == tmp_path / "checkpoints" / "a.pt"
    outside = tmp_path.parent / "elsewhere"
    for name in ["../escape.html", "/etc/passwd", str(outside / "x.csv"), ".", "a/../../b"]:
        with pytest.raises(ValueError, match="outside the output folder"):
            confined(tmp_path, name)
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside the output folder"):
        confined(tmp_path, "link/x.html")


def test_no_unsafe_loaders_in_the_package() -> None:
    """Safety audit as a test: no eval / exec / pickle / yaml on data; torch.load only with
    weights_only=True; configs parsed with tomllib (data only)."""
    import re

    import seqfolio

    root = Path(seqfolio.__file__).parent.parent
    sources = [
        p
        for folder in ("seqfolio", "allocators", "signals", "strategies")
        for p in (root / folder).rglob("*.py")
    ]
    assert sources
    banned = re.compile(r"(?<![\w.])(eval|exec)\(|\bpickle\b|\byaml\b|\bmarshal\b|shell=True")
    # The one allowed use: the Dask runner pickles the prices *this process* holds and hands the
    # bytes to `pickle.loads` on the (trusted) cluster, so a dead worker's copy can be rebuilt
    # (parallel._submit_shared). Local workers read the shared object from a file this process
    # wrote a moment before in its own private temporary folder (mkdtemp: mode 0700), so a worker
    # that dies while starting cannot block the parent (parallel._install). Nothing a user or
    # another program wrote is ever unpickled.
    allowed = {
        "parallel.py": [
            "\nimport pickle\n",
            '/ "shared.pickle"',
            "    _SHARED = pickle.load(file)",
            "pickle.dump(shared, file, protocol=pickle.HIGHEST_PROTOCOL)",
            "cloudpickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)",
            "pickle.loads, blob, key=",
        ]
    }
    for path in sources:
        text = path.read_text(encoding="utf-8")
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        for snippet in allowed.get(path.name, []):
            assert snippet in code, f"{path}: the allowed use {snippet!r} moved; re-audit it"
            code = code.replace(snippet, "")
        assert not banned.search(code), f"{path}: {banned.search(code).group(0)}"
        for call in re.findall(r"torch\.load\([^)]*\)", code):
            assert "weights_only=True" in call, f"{path}: {call}"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """Files get 0o666 less the umask, as from any other tool (not mkstemp's 0600), also when an
    older file is replaced."""
    from matplotlib.figure import Figure

    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.csv", "x\n")
        (tmp_path / "b.csv").write_text("an older file")
        os.chmod(tmp_path / "b.csv", 0o600)
        atomic_write_bytes(tmp_path / "b.csv", b"y\n")
        atomic_savefig(Figure(), tmp_path / "w.png")
        with atomic_path(tmp_path / "t.html") as tmp:
            tmp.write_text("<html></html>")
    finally:
        os.umask(previous)
    for name in ("a.csv", "b.csv", "w.png", "t.html"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name
    assert _litter(tmp_path) == []
