"""Issue 21: output folders, model reuse, warnings during a run and the warm-up on a user's data.

- item 3: a run never mixes its files with another run's without saying so; reused checkpoints are
  counted as loaded, not as retrains;
- item 4: run-time warnings carry the ``seqfolio: warning:`` prefix, name the run, point to a file,
  and the progress bar is full and says what comes next before the tear sheet is written;
- item 9: data starting after ``--start`` is a warm-up, not a failure;
- item 10: the ``wrote`` lines list every file written; seed tables print whole numbers and "–";
  one colour per configuration in every chart; ``.gitignore`` lists every default output folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqfolio.cli import main
from seqfolio.data import load_sample

pytestmark = pytest.mark.filterwarnings("ignore")

SMALL = ["--start", "2021-01-01", "--end", "2021-08-31", "--lookback", "60"]
REPO = Path(__file__).resolve().parents[1]


def _wrote(printed: str) -> tuple[Path, list[str]]:
    """The folder and the file names of a ``wrote OUT/a, b, c`` line."""
    line = next(x for x in printed.splitlines() if x.startswith("wrote "))
    first, *rest = line.removeprefix("wrote ").split("; ")[0].split(", ")
    return Path(first).parent, [Path(first).name, *rest]


def _lines(text: str) -> list[str]:
    """Printed lines; a progress bar ends with carriage returns, not a newline."""
    return [x.strip() for x in re.split(r"[\r\n]+", text) if x.strip()]


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()}


# -- item 3: output folders ------------------------------------------------------------------------
def test_compare_after_backtest_in_one_folder_names_the_backtests_files(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["backtest", *SMALL, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["compare", "--allocators", "ew,ivp", *SMALL, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    notes = [x for x in _lines(captured.err) if x.startswith("seqfolio: note: ")]
    assert len(notes) == 1, captured.err
    assert "this compare did not write" in notes[0]
    for name in ("tearsheet.html", "weights.png", "weights.csv", "rebalances.csv"):
        assert name in notes[0]  # the backtest's files, named, left as they are
        assert (out / name).exists()
    folder, listed = _wrote(captured.out)
    assert folder == out
    assert set(listed) == _files(out) - {"tearsheet.html", "weights.png", "weights.csv",
                                         "rebalances.csv"}  # fmt: skip


def test_compare_removes_its_own_stale_tear_sheets(tmp_path, capsys):
    assert (
        main(["compare", "--allocators", "ew,ivp", *SMALL, "--quiet", "--out", str(tmp_path)]) == 0
    )
    assert (tmp_path / "tearsheet_ivp.html").exists()
    assert main(["compare", "--allocators", "ew,hrp", *SMALL, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert not (tmp_path / "tearsheet_ivp.html").exists()  # not this comparison's
    assert "removed 1 file an earlier compare left" in err and "tearsheet_ivp.html" in err


def test_each_command_has_its_own_default_folder(tmp_path, capsys, monkeypatch):
    from seqfolio.cli.options import OPTIONS

    defaults = next(o for o in OPTIONS if o.name == "out").default
    assert len(set(defaults.values())) == len(defaults) == 4
    monkeypatch.chdir(tmp_path)
    assert main(["backtest", *SMALL, "--quiet"]) == 0
    assert main(["compare", "--allocators", "ew,ivp", *SMALL, "--quiet"]) == 0
    assert _files(tmp_path / "seqfolio-report") == {"tearsheet.html", "weights.png", "weights.csv",
                                                   "returns.csv", "rebalances.csv", "orders.csv"}  # fmt: skip
    assert (tmp_path / "seqfolio-compare" / "comparison.md").exists()


def test_gitignore_lists_every_default_output_folder():
    from seqfolio.cli.options import OPTIONS

    ignored = (REPO / ".gitignore").read_text().split()
    for folder in next(o for o in OPTIONS if o.name == "out").default.values():
        assert f"{folder}/" in ignored, folder


def test_reused_checkpoints_are_counted_as_loaded(tmp_path, capsys):
    args = ["backtest", "--signal", "lstm-vol", *SMALL, "--train-window", "300", "--out",
            str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    checkpoints = tmp_path / "checkpoints"
    assert f", 3 models: 3 trained, 0 loaded from {checkpoints}\n" in capsys.readouterr().out
    assert main(args) == 0
    assert f", 3 models: 0 trained, 3 loaded from {checkpoints}\n" in capsys.readouterr().out


# -- item 4: warnings during a run ---------------------------------------------------------------
def test_a_rejected_order_is_a_warning_naming_the_run_and_the_orders_file(tmp_path, capsys):
    args = ["compare", "--allocators", "hrp,herc", "--start", "2021-10-01", "--end", "2022-02-28",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    warning = [x for x in _lines(err) if "rejected" in x]
    assert warning == [
        "seqfolio: warning: HERC monthly: 2022-01-03: buy order for 1726 XOM was rejected "
        f"(Margin); see {tmp_path / 'orders.csv'}"
    ]
    orders = pd.read_csv(tmp_path / "orders.csv")
    assert list(orders.columns[:4]) == ["strategy", "date", "asset", "size"]
    rejected = orders[orders["status"] == "Margin"]
    assert rejected[["strategy", "date", "asset", "size"]].values.tolist() == [
        ["HERC monthly", "2022-01-03", "XOM", 1726.0]
    ]
    assert set(orders["strategy"]) == {"HRP monthly", "HERC monthly"}


def test_progress_bar_is_full_and_says_what_comes_next_before_the_tear_sheet(tmp_path, monkeypatch):
    import seqfolio.backtest as backtest
    import seqfolio.reporting as reporting

    bars: list = []
    seen: list = []
    init = backtest._Progress.__init__

    def spy_init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        init(self, *args, **kwargs)
        bars.append(self)

    write = reporting.write_tearsheet

    def spy_write(*args, **kwargs):  # noqa: ANN002, ANN003
        bar = bars[-1].bar
        seen.append((bar.n, bar.total, bar.desc))
        return write(*args, **kwargs)

    monkeypatch.setattr(backtest._Progress, "__init__", spy_init)
    monkeypatch.setattr(reporting, "write_tearsheet", spy_write)
    assert main(["backtest", *SMALL, "--out", str(tmp_path)]) == 0
    ((n, total, desc),) = seen
    assert n == total and desc == "HRP monthly: writing tear sheet"


def test_warnings_go_through_the_progress_bars_writer(monkeypatch, capsys):
    import logging
    import warnings

    from seqfolio.cli import messages

    lines: list[str] = []
    monkeypatch.setattr("tqdm.auto.tqdm.write", lambda text, file=None: lines.append(text))
    with messages.installed(quiet=False), messages.run("HRP monthly", Path("out")):
        warnings.simplefilter("always")  # this module ignores warnings otherwise
        logging.getLogger("seqfolio.strategies").warning(
            "2020-01-02: rebalance skipped: x", extra={"details": "events"}
        )
        warnings.warn("TearSheet: no tear sheet written", RuntimeWarning, stacklevel=1)
    assert lines == [
        "seqfolio: warning: HRP monthly: 2020-01-02: rebalance skipped: x; see out/events.csv",
        "seqfolio: warning: HRP monthly: TearSheet: no tear sheet written",
    ]
    assert capsys.readouterr().err == ""


# -- item 9: the warm-up on a user's data --------------------------------------------------------
def test_data_starting_after_start_is_a_warm_up_not_a_failure(tmp_path, capsys):
    load_sample("2020-01-01", "2021-12-31").to_csv(tmp_path / "mine.csv")
    out = tmp_path / "r"
    assert main(["backtest", "--data", str(tmp_path / "mine.csv"), "--lookback", "60", "--out",
                 str(out)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    note = [x for x in _lines(captured.err) if "warm-up" in x]
    assert len(note) == 1 and note[0].startswith("seqfolio: note: ")
    assert "2020-04-01" in note[0]  # the first monthly rebalance with 60 bars behind it
    assert "skipped" not in captured.out and not (out / "events.csv").exists()
    returns = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True).iloc[:, 0]
    assert returns.index[0] == pd.Timestamp("2020-04-01") and (returns.iloc[1:6] != 0).all()
    label = "HRP monthly"
    summary = next(x for x in captured.out.splitlines() if x.startswith(f"{label}: "))
    first = re.search(rf"{label}: (\S+) \.\. (\S+),", summary).groups()
    sheet = re.search(r"<dt> *(.+?) - (.+?) \(", (out / "tearsheet.html").read_text()).groups()
    assert [pd.Timestamp(d) for d in first] == [pd.Timestamp(d) for d in sheet]


# -- item 10: smaller ------------------------------------------------------------------------------
def test_walkforward_wrote_line_lists_every_file_written(tmp_path, capsys):
    args = ["walkforward", "--allocators", "hrp,ew", "--start", "2014-01-01", "--end", "2019-12-31",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    folder, listed = _wrote(capsys.readouterr().out)
    assert folder == tmp_path and sorted(listed) == sorted(_files(tmp_path))
    assert "per_window.md" in listed and "overfitting.csv" in listed


def test_seed_table_prints_whole_seed_counts_and_a_dash_for_one_seed(capsys):
    from seqfolio.cli.research import _print_table
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.walkforward import seed_summary

    configs = [PortfolioConfig("hrp", signal="lstm-vol", model={"seed": s}) for s in (0, 1)]
    configs.append(PortfolioConfig("ew", signal="lstm-vol", model={"hidden_size": 8, "seed": 0}))
    from seqfolio.spec import distinct_labels

    summary = pd.DataFrame({"sharpe": [0.5, 0.7, 0.6]}, index=distinct_labels(configs))
    table = seed_summary(configs, summary)
    _print_table(table)
    rows = [x for x in capsys.readouterr().out.splitlines() if "LSTM-vol" in x]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert [c[1] for c in cells] == ["2", "1"]  # seeds
    assert cells[0][3] == "0.141" and cells[1][3] == "–"  # seed sd


def test_each_configuration_has_one_colour_in_every_chart(tmp_path, monkeypatch):
    import seqfolio.research.report as report_module
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.walkforward import walk_forward

    figures: dict[str, object] = {}
    monkeypatch.setattr(report_module, "atomic_savefig",
                        lambda fig, path, **k: figures.setdefault(Path(path).name, fig))  # fmt: skip
    prices = load_sample("2016-01-01", "2019-12-31")
    configs = [PortfolioConfig("ivp", lookback=60), PortfolioConfig("ew", lookback=60),
               PortfolioConfig("hrp", lookback=60)]  # fmt: skip
    report = walk_forward(prices, configs, train=252, test=126)
    monkeypatch.setattr("seqfolio.reporting.plot_weights", lambda *a, **k: None)
    report_module.write_walkforward_report(report, tmp_path)
    lines = {line.get_label(): line.get_color() for line in figures["equity.png"].axes[0].lines}
    bars = {c.get_label(): c.patches[0].get_facecolor()
            for c in figures["window_sharpe.png"].axes[0].containers}  # fmt: skip
    from matplotlib.colors import to_rgba

    assert set(bars) == {c.label for c in configs}
    for label, color in bars.items():
        assert to_rgba(lines[label]) == pytest.approx(color), label
    assert len({tuple(c) for c in bars.values()}) == 3
    assert np.isfinite(report.summary["sharpe"]).all()


def test_run_folder_sorts_written_stale_kept_and_foreign_files(tmp_path):
    """The rule on its own: written files in the command's order (a subfolder as one entry), its
    own stale reports removed, its study kept, anything else named and left."""
    from seqfolio.cli.outputs import RunFolder

    for name in ("trials.md", "overfitting.md", "study.db", "notes.txt", "tearsheet.html"):
        (tmp_path / name).write_text("earlier")
    (tmp_path / "holdout").mkdir()
    (tmp_path / "holdout" / "events.csv").write_text("earlier")
    (tmp_path / "models").mkdir()  # a cache: never listed
    folder = RunFolder(tmp_path, "tune")
    for name in (
        "history.png",
        "best.toml",
        "trials.md",
        "holdout/summary.md",
        "holdout/returns.csv",
    ):
        (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / name).write_text("this run")
    folder.finish()
    assert folder.written == ["best.toml", "trials.md", "history.png", "holdout/summary.md",
                              "holdout/returns.csv"]  # fmt: skip
    assert folder.wrote() == (
        f"wrote {tmp_path / 'best.toml'}, trials.md, history.png, holdout/ (2 files)"
    )
    assert folder.removed == ["holdout/events.csv", "overfitting.md"]
    assert not (tmp_path / "overfitting.md").exists() and (tmp_path / "study.db").exists()
    assert folder.foreign == ["notes.txt", "tearsheet.html"]
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "tearsheet.html").exists()
    assert len(folder.notes()) == 2
