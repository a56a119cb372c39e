"""Repository layout: the generic core names no economy, the packages import without cycles, modules stay small."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CORE = (["pbt_econ/rollout.py", "pbt_econ/ppo.py", "pbt_econ/member.py", "pbt_econ/episode.py",
         "pbt_econ/curriculum.py"]
        + sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pbt_econ" / "best_response").glob("*.py"))
        + sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "populations").glob("*.py"))
        + ["analysis/noise.py", "analysis/cluster.py", "analysis/report.py", "analysis/stats.py", "analysis/schema.py"])
"""Modules that must work for any economy: they read types and descriptors from the economy."""

RBC_WORDS = ("consumers?", "firms?", "governments?", "price", "wage", "hours", "consumption", "production",
             "exports", "stock", "income_tax", "corporate_tax", "reward_consumer", "reward_firm", "gini",
             "export_share")
"""The RBC's agent type names (singular or plural) and its RBC-only descriptor names."""
WORD = re.compile(r"\b(" + "|".join(RBC_WORDS) + r")\b", re.IGNORECASE)

PACKAGES = ("pbt_econ", "populations", "analysis")
MAX_LINES = 400


def test_the_core_names_no_economy():
    """No RBC agent type or RBC-only descriptor as a whole word, in code, docstrings or comments."""
    found = []
    for rel in CORE:
        for n, line in enumerate((ROOT / rel).read_text().splitlines(), 1):
            found += [f"{rel}:{n}: {m.group(0)}" for m in WORD.finditer(line)]
    assert not found, "\n".join(found)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _top_level_imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Modules of the three packages that ``name`` imports at top level (not inside functions)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import submodule` depends on the submodule; `from mod import name` on mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a package: its deepest module we know
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_import_cycles_among_the_packages():
    modules = _modules()
    graph = {name: _top_level_imports(path, name, modules) for name, path in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_is_over_400_lines():
    long = [f"{path.relative_to(ROOT)}: {n} lines" for path in _modules().values()
            if (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert not long, long
