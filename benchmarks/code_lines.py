"""Count the package's code lines: non-blank, non-comment, outside docstrings.

A line counts when it holds code. Left out: blank lines, comment-only lines, and every line of a
docstring — a module, class or function docstring, and any other bare string expression (attribute
docstrings, strings used as comments). Each file is parsed with ``ast`` for the docstrings and read
with ``tokenize`` for the comments, so a ``#`` inside a string is not a comment.

The packages are ``seqfolio/`` (without ``seqfolio/zipline/``, an engine adapter counted apart),
``allocators/``, ``signals/`` and ``strategies/``. Prints lines per package, the total and the
largest files.

Run: python benchmarks/code_lines.py [--root .] [--largest 15]
"""

from __future__ import annotations

import argparse
import ast
import io
import tokenize
from pathlib import Path

PACKAGES = ("seqfolio", "allocators", "signals", "strategies")
EXCLUDED = ("seqfolio/zipline",)


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by bare string expressions (docstrings included)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def code_lines(source: str) -> int:
    """Number of lines of ``source`` that hold code (see the module docstring)."""
    skip = docstring_lines(ast.parse(source))
    code: set[int] = set()
    ignored = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
               tokenize.DEDENT, tokenize.ENDMARKER}  # fmt: skip
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in ignored:
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - skip)


def package_files(root: Path, package: str) -> list[Path]:
    files = sorted((root / package).rglob("*.py"))
    return [f for f in files if not any(f.relative_to(root).as_posix().startswith(e + "/")
                                        for e in EXCLUDED)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--largest", type=int, default=15)
    args = parser.parse_args()
    counts: dict[str, int] = {}
    total = 0
    for package in PACKAGES:
        subtotal = 0
        for path in package_files(args.root, package):
            n = code_lines(path.read_text(encoding="utf-8"))
            counts[path.relative_to(args.root).as_posix()] = n
            subtotal += n
        print(f"{package + '/':<14}{subtotal:>7,}")
        total += subtotal
    print(f"{'total':<14}{total:>7,}   (not counted: {', '.join(e + '/' for e in EXCLUDED)})")
    print(f"\nlargest {args.largest} files:")
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1])[: args.largest]:
        print(f"  {n:>5}  {name}")


if __name__ == "__main__":
    main()
