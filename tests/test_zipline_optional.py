"""The zipline adapter without zipline: importing seqfolio never needs it, a missing zipline is one line
naming the extra, and the adapter's settings are the backtrader strategy's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqfolio.zipline import INSTALL_HINT, ZiplineMissingError, require_zipline


@pytest.fixture
def no_zipline(monkeypatch):
    """Make ``import zipline`` fail as it does where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "zipline", None)


def test_importing_seqfolio_never_imports_zipline():
    code = (
        "import sys, seqfolio, seqfolio.zipline, seqfolio.cli, seqfolio.backtest;"
        "from seqfolio.zipline import settings;"
        "print('zipline' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_zipline_is_one_line_naming_the_extra(no_zipline):
    with pytest.raises(ZiplineMissingError) as exc:
        require_zipline()
    text = str(exc.value)
    assert "\n" not in text and INSTALL_HINT in text and 'pip install "seqfolio[zipline]"' in text
    from seqfolio.data import load_sample
    from seqfolio.zipline import ingest_prices, run_zipline

    with pytest.raises(ZiplineMissingError, match=r"seqfolio\[zipline\]"):
        run_zipline(load_sample("2019-01-01", "2019-02-28"))
    with pytest.raises(ZiplineMissingError, match=r"seqfolio\[zipline\]"):
        ingest_prices()


def test_the_cli_names_the_extra_when_zipline_is_missing(no_zipline, tmp_path, capsys):
    from seqfolio.cli import main

    status = main(["backtest", "--engine", "zipline", "--quiet", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert status != 0
    assert len(err.splitlines()) == 1 and 'pip install "seqfolio[zipline]"' in err


def test_the_settings_and_defaults_are_the_backtrader_strategys():
    from seqfolio.spec import RebalanceSpec
    from seqfolio.zipline.settings import rebalancer_settings

    spec = RebalanceSpec("herc", lookback=126, signal="lstm-vol")
    assert rebalancer_settings(spec).spec is spec  # one spec, checked once, for both engines
    assert rebalancer_settings(allocator="herc", lookback=126, signal="lstm-vol").spec == spec


def test_settings_are_checked_by_the_strategys_checks():
    from seqfolio.zipline.settings import rebalancer_settings

    with pytest.raises(ValueError, match="The 'cash_buffer' parameter of attach_rebalancer"):
        rebalancer_settings(cash_buffer=0.7)
    with pytest.raises(
        TypeError, match="The 'signal' parameter of attach_rebalancer must be one of"
    ):
        rebalancer_settings(signal="lstm")
    settings = rebalancer_settings(allocator="herc", rebalance="weekly", assets=["A", "B", "A"])
    assert settings.spec.allocator == "herc" and settings.assets == ("A", "B")
