"""The layers of docs/architecture.md, enforced: a lower layer never imports a higher one.

Every ``import`` in the package (lazy ones inside functions included) is read with ``ast`` and its
target's layer checked against the importing module's allowed layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seqfolio

ROOT = Path(seqfolio.__file__).parent
# installed sub-packages that live in top-level folders of the repository (setup.cfg package_dir)
PACKAGE_DIRS = {
    "seqfolio": ROOT,
    "seqfolio.allocators": ROOT.parent / "allocators",
    "seqfolio.signals": ROOT.parent / "signals",
    "seqfolio.strategies": ROOT.parent / "strategies",
}

# module prefix -> layer (longest prefix wins)
LAYER_OF = {
    "seqfolio._validation": "foundation",
    "seqfolio._atomic": "foundation",
    "seqfolio.calendar": "foundation",
    "seqfolio.defaults": "foundation",
    "seqfolio.events": "foundation",
    "seqfolio.stats": "foundation",
    "seqfolio.data": "foundation",
    "seqfolio.results": "foundation",
    "seqfolio.allocators": "estimators",
    "seqfolio.signals": "estimators",
    "seqfolio.pipeline": "pipeline",
    "seqfolio.spec": "pipeline",
    "seqfolio.reporting": "reporting",
    "seqfolio.allocators.indicators": "engine",
    "seqfolio.signals.indicators": "engine",
    "seqfolio._feed_lines": "engine",
    "seqfolio.strategies": "engine",
    "seqfolio.backtest": "engine",
    "seqfolio.zipline": "zipline",
    "seqfolio.research": "research",
    "seqfolio.cli": "cli",
}
MAY_IMPORT = {
    "foundation": {"foundation"},
    "estimators": {"foundation", "estimators"},
    "pipeline": {"foundation", "estimators", "pipeline"},
    "reporting": {"foundation", "reporting"},
    "engine": {"foundation", "estimators", "pipeline", "reporting", "engine"},
    # the second engine adapter sits beside backtrader's, over the same pipeline; neither imports the other
    "zipline": {"foundation", "estimators", "pipeline", "reporting", "zipline"},
    "research": {"foundation", "estimators", "pipeline", "reporting", "research"},
    "cli": {"foundation", "estimators", "pipeline", "reporting", "engine", "zipline", "research", "cli"},
}
THIRD_PARTY_BANNED = {
    # backtrader only in the engine (and the CLI on top of it); research and pipeline stay free of it
    "backtrader": {"foundation", "estimators", "pipeline", "reporting", "research", "zipline"},
    # zipline (an optional extra) only in its adapter, imported lazily there
    "zipline": {"foundation", "estimators", "pipeline", "reporting", "engine", "research", "cli"},
    "exchange_calendars": {"foundation", "estimators", "pipeline", "reporting", "engine", "research", "cli"},
}


def layer(module: str) -> str | None:
    matches = [p for p in LAYER_OF if module == p or module.startswith(p + ".")]
    return LAYER_OF[max(matches, key=len)] if matches else None


def modules() -> list[tuple[str, Path]]:
    found = []
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            relative = path.relative_to(folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            if (
                package == "seqfolio"
                and parts
                and parts[0] in {"allocators", "signals", "strategies"}
            ):
                continue
            found.append((".".join([package, *parts]), path))
    return sorted(found)


def imports(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names += (
                [f"{base}.{alias.name}" for alias in node.names] if base == "seqfolio" else [base]
            )
    return names


MODULES = modules()


def test_every_module_has_a_layer():
    assert [m for m, _ in MODULES if layer(m) is None and m != "seqfolio"] == []


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module, path):
    own = layer(module) or "cli"
    wrong = []
    for target in imports(path, module):
        top = target.split(".")[0]
        if top in THIRD_PARTY_BANNED and own in THIRD_PARTY_BANNED[top]:
            wrong.append(f"{target} (third party, not allowed in {own})")
        if top != "seqfolio" or target == "seqfolio":
            continue
        other = layer(target)
        if other is not None and other not in MAY_IMPORT[own]:
            wrong.append(f"{target} ({other})")
    assert wrong == [], f"{module} ({own}) imports a higher layer: {wrong}"


def test_the_checker_catches_an_upward_import(tmp_path):
    """The test above can fail: an allocator importing the engine is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from seqfolio.strategies import RebalanceStrategy\n")
    targets = imports(bad, "seqfolio.allocators.bad")
    assert [layer(t) for t in targets] == ["engine"]
    assert "engine" not in MAY_IMPORT[layer("seqfolio.allocators.bad")]


def test_research_may_not_import_the_zipline_adapter():
    """The rule the layer table states for the second engine: research never imports it."""
    assert "zipline" not in MAY_IMPORT["research"]
    assert layer("seqfolio.zipline.run") == "zipline"


def import_graph(found: list[tuple[str, Path]]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (lazy imports included; a parent package that
    Python imports on the way to a submodule is not an edge)."""
    known = {module for module, _ in found}
    graph: dict[str, set[str]] = {}
    for module, path in found:
        edges = set()
        for target in imports(path, module):
            owners = [k for k in known if target == k or target.startswith(k + ".")]
            if owners and max(owners, key=len) != module:
                edges.add(max(owners, key=len))
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    import graphlib

    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_no_import_cycles():
    """No two modules import each other, directly or through others, lazy imports included."""
    assert find_cycle(import_graph(MODULES)) is None


def test_the_cycle_check_can_fail(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    from seqfolio.b import g\n")
    (tmp_path / "b.py").write_text("from seqfolio.a import f\n")
    graph = import_graph([("seqfolio.a", tmp_path / "a.py"), ("seqfolio.b", tmp_path / "b.py")])
    assert set(find_cycle(graph)) == {"seqfolio.a", "seqfolio.b"}
