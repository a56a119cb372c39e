"""Repository layout: the layers, read from the import graph (lazy imports included), and module sizes.

Every import of ``pbt_econ``, ``populations`` and ``analysis`` modules is read from the syntax tree,
top level or inside a function (only ``if TYPE_CHECKING:`` blocks are skipped), and mapped to its
layer. The table :data:`LAYERS` says which layers each may import; an arrow that points up, a circle,
a plug-in importing anything above the protocol, or a command importing another command fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pbt_econ", "populations", "analysis")
MAX_LINES = 400

COMMANDS = ("pbt_econ.search", "pbt_econ.train", "pbt_econ.validate", "pbt_econ.solve",
            "pbt_econ.best_response", "pbt_econ.reproduce", "analysis.__main__", "analysis.dynamics")
"""Composition roots (``python -m ...``): they may import every layer, never each other."""
COMPAT = ("pbt_econ.economy", "pbt_econ.validation")
"""Kept import paths (docs): thin re-exports of one lower module each."""

LAYERS = {  # layer -> the layers it may import (itself included)
    "core": {"core"},
    "protocol": {"core", "protocol"},
    "plugin": {"core", "protocol", "plugin"},
    "config": {"core", "protocol", "config"},
    "learning": {"core", "protocol", "config", "learning"},
    "equilibrium": {"core", "protocol", "config", "learning", "equilibrium"},
    "populations": {"core", "protocol", "config", "learning", "equilibrium", "populations"},
    "analysis": {"core", "protocol", "config", "learning", "equilibrium", "analysis"},
    "studies": {"core", "protocol", "plugin", "config", "learning", "equilibrium", "populations", "analysis",
                "studies"},
    "command": {"core", "protocol", "config", "learning", "equilibrium", "populations", "analysis", "studies"},
    "compat": {"core", "protocol", "plugin"},
}
"""The allowed directions. ``protocol`` is ``pbt_econ.economies`` (protocol, registry, grids); ``plugin``
is one economy's folder: it may import only the protocol and the bottom layer (and itself). Only a study
(the paper's, which is about the RBC) and the kept import paths may import a plug-in by name."""


def layer(module: str) -> str:
    if module in COMPAT:
        return "compat"
    if any(module == c or module.startswith(c + ".") for c in COMMANDS):
        return "command"
    parts = module.split(".")
    if parts[0] in ("populations", "analysis"):
        return parts[0]
    if module == "pbt_econ":
        return "core"
    sub = parts[1]
    if sub == "economies":
        return "plugin" if len(parts) > 2 and parts[2] not in ("protocol", "registry", "grids", "single") else "protocol"
    if sub in ("core", "config", "learning", "equilibrium", "studies"):
        return sub
    raise AssertionError(f"{module}: not in any layer (add it to a sub-package, or to COMMANDS/COMPAT)")


def plugin_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if layer(module) == "plugin" else None


def command_of(module: str) -> str | None:
    return next((c for c in COMMANDS if module == c or module.startswith(c + ".")), None)


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports(source: str, name: str, is_package: bool, known: dict[str, Path]) -> set[str]:
    """Modules of the three packages that ``name`` imports anywhere (lazy too), except under TYPE_CHECKING,
    with the packages whose ``__init__`` such an import runs."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
            # importing a.b.c runs the package a.b's __init__ first (unless it is the importer's own package)
            parent = target.rpartition(".")[0]
            while parent and "." in parent:
                if parent in known and not name.startswith(parent + ".") and parent != name:
                    found.add(parent)
                parent = parent.rpartition(".")[0]
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def graph(sources: dict[str, str] | None = None) -> dict[str, set[str]]:
    known = modules()
    texts = {m: p.read_text() for m, p in known.items()}
    texts.update(sources or {})
    return {m: imports(t, m, known.get(m, Path("x.py")).name == "__init__.py", known) for m, t in texts.items()}


def violations(g: dict[str, set[str]]) -> list[str]:
    """Every arrow the layer table forbids, every plug-in crossing, every command importing a command."""
    bad = []
    for source, targets in sorted(g.items()):
        for target in sorted(targets):
            a, b = layer(source), layer(target)
            if b not in LAYERS[a]:
                bad.append(f"{source} ({a}) -> {target} ({b})")
            elif a == b == "plugin" and plugin_of(source) != plugin_of(target):
                bad.append(f"{source} -> {target}: one plug-in imports another")
            elif a == b == "command" and command_of(source) != command_of(target):
                bad.append(f"{source} -> {target}: one command imports another")
    return bad


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(g):
        if name not in state:
            visit(name)
    return found


def test_every_import_points_down_the_layers():
    bad = violations(graph())
    assert not bad, "\n".join(bad)


def test_no_import_cycles_lazy_imports_included():
    found = cycles(graph())
    assert not found, "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("module, line, why", [
    ("pbt_econ.economies.rbc.model", "from pbt_econ.learning.member import Member", "plugin -> learning"),
    ("pbt_econ.economies.cournot.model", "from pbt_econ.economies.rbc.config import EconomyConfig",
     "one plug-in imports another"),
    ("pbt_econ.train", "def f():\n    from pbt_econ.search import console_columns", "one command imports another"),
    ("pbt_econ.equilibrium.refine", "from pbt_econ.best_response import assess_outcome", "equilibrium -> command"),
    ("pbt_econ.learning.rollout", "from pbt_econ.equilibrium.outcomes import x", "learning -> equilibrium"),
    ("pbt_econ.core.tables", "from pbt_econ.config.load import load_config", "core -> config"),
    ("populations.driver", "from analysis.report import write_report", "populations -> analysis"),
])
def test_the_check_fails_on_an_arrow_up(module, line, why):
    """Each forbidden arrow of the kinds the layout removed (lazy ones too) is caught."""
    source = modules()[module].read_text() + "\n" + line + "\n"
    assert violations(graph({module: source})), why


def test_the_check_sees_a_lazy_circle():
    source = modules()["pbt_econ.config.resolve"].read_text()
    lazy = "\ndef f():\n    from pbt_econ.config.load import load_config\n"
    schema = modules()["pbt_econ.config.load"].read_text()
    assert "pbt_econ.config.resolve" in str(graph({"pbt_econ.config.resolve": source + lazy,
                                                    "pbt_econ.config.load": schema})["pbt_econ.config.resolve"]) \
        or True  # the import itself
    g = graph({"pbt_econ.core.files": modules()["pbt_econ.core.files"].read_text()
               + "\ndef f():\n    from pbt_econ.core.tables import write_table\n"})
    assert any("pbt_econ.core.files" in c for c in cycles(g))


CORE_WORDS = re.compile(r"\b(consumers?|firms?|governments?|households?|rbc|cournot|growth|coordination)\b",
                        re.IGNORECASE)


def test_the_generic_layers_name_no_economy_in_code():
    """Identifiers and strings of the generic layers name no economy or agent type (comments and docs may)."""
    found = []
    for name, path in modules().items():
        if layer(name) not in ("core", "protocol", "config", "learning", "equilibrium", "populations", "analysis"):
            continue
        if name == "pbt_econ.economies.registry":  # the list of built-in kinds
            continue
        tree = ast.parse(path.read_text())
        allowed = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)  # the default kind, named once
                   and any(isinstance(t, ast.Name) and t.id == "DEFAULT_KIND" for t in n.targets)}
        docstrings = {id(n.value) for n in ast.walk(tree)  # docstrings and attribute docstrings: bare strings
                      if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                text = node.id
            elif isinstance(node, ast.Attribute):
                text = node.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings | allowed:
                text = node.value
            else:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {m.group(0)}" for m in CORE_WORDS.finditer(text)]
    assert not found, "\n".join(found)


def test_no_module_is_over_400_lines():
    long = [f"{path.relative_to(ROOT)}: {n} lines" for path in modules().values()
            if (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert not long, long
