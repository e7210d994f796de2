"""Static facts about the ``benchlib`` package: its import graph, module sizes, private imports,
function-level imports and module-level constants defined in more than one module.

Every import counts in the graph, including those inside functions (a
function-level import only hides a cycle until the function runs).
``python tests/unit/architecture.py`` prints the facts.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "benchlib"
MAX_MODULE_LINES = 400
REASONS = ("heavy", "optional", "cycle")
"""The reasons a function-level import of a benchlib module may give, as ``# heavy: why`` (or optional, cycle)."""
_REASON = re.compile(r"#\s*(" + "|".join(REASONS) + r"):\s*\S")
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class ImportEdge:
    """``importer`` imports ``imported`` (a benchlib module), optionally naming ``names``."""

    importer: str
    imported: str
    names: tuple[str, ...]
    line: int


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest module prefix of a dotted name (``benchlib.a.b.func`` -> ``benchlib.a.b``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
              modules: dict[str, Path]) -> Iterator[tuple[str, tuple[str, ...]]]:  # fmt: skip
    """The benchlib modules an import statement of ``module`` imports, each with the names it takes from it."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            target = _resolve(alias.name, modules)
            if target and target != module:
                yield target, ()
        return
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if not source.startswith("benchlib"):
        return
    for alias in node.names:
        submodule = _resolve(f"{source}.{alias.name}", modules)
        if submodule and submodule == f"{source}.{alias.name}":
            target, names = submodule, ()
        else:
            target, names = _resolve(source, modules), (alias.name,)
        if target and target != module:
            yield target, names


def import_edges() -> list[ImportEdge]:
    """Every import of one benchlib module by another."""
    modules = module_files()
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, names in _imported(node, module, path.name == "__init__.py", modules):
                    edges.append(ImportEdge(module, target, names, node.lineno))
    return edges


def import_cycles() -> list[list[str]]:
    """The strongly connected groups of modules (each holds at least one import cycle)."""
    graph: dict[str, set[str]] = {m: set() for m in module_files()}
    for edge in import_edges():
        graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                group.append(item)
                if item == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def long_modules() -> dict[str, int]:
    """Modules over :data:`MAX_MODULE_LINES` lines -> their line count."""
    sizes = {m: len(p.read_text().splitlines()) for m, p in module_files().items()}
    return {m: n for m, n in sorted(sizes.items()) if n > MAX_MODULE_LINES}


def private_imports() -> list[ImportEdge]:
    """Imports of another module's private name (``from benchlib.x import _helper``)."""
    return [e for e in import_edges() if any(n.startswith("_") for n in e.names)]


@dataclass(frozen=True)
class FunctionImport:
    """``importer`` imports ``imported`` (a benchlib module) inside a function, at ``line``.

    ``reason`` is what its comment says (``heavy``, ``optional`` or ``cycle``), or ``None``: the comment sits
    on the statement's first line or on the line above it, and covers the imports right below it.
    """

    importer: str
    imported: str
    line: int
    reason: str | None


def function_level_imports() -> list[FunctionImport]:
    """Every import of a benchlib module inside a function body (a method's, a nested function's too)."""
    modules = module_files()
    found = []
    for module, path in modules.items():
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text, str(path))
        nodes = {n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}  # fmt: skip
        ending_at = {n.end_lineno: n for n in nodes}

        def reason(node: ast.stmt) -> str | None:
            match = _REASON.search(lines[node.lineno - 1]) or _REASON.match(lines[node.lineno - 2].strip())
            if match:
                return match.group(1)
            above = ending_at.get(node.lineno - 1)  # an import right above: its comment covers both
            return reason(above) if above is not None else None

        for node in sorted(nodes, key=lambda n: n.lineno):
            for target in dict.fromkeys(t for t, _ in _imported(node, module, path.name == "__init__.py", modules)):
                found.append(FunctionImport(module, target, node.lineno, reason(node)))
    return found


def _module_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run at import: the module's own and those of its top-level ``if``/``try`` blocks."""
    for statement in statements:
        yield statement
        if isinstance(statement, (ast.If, ast.Try)):
            blocks = [statement.body, statement.orelse, getattr(statement, "finalbody", [])]
            blocks += [handler.body for handler in getattr(statement, "handlers", [])]
            for block in blocks:
                yield from _module_level(block)


def module_constants() -> dict[str, list[str]]:
    """UPPER_CASE name -> the modules that assign it at module level (importing a name assigns nothing)."""
    constants: dict[str, list[str]] = {}
    for module, path in module_files().items():
        tree = ast.parse(path.read_text(), str(path))
        names = set()
        for statement in _module_level(tree.body):
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets = [statement.target]
            else:
                continue
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and _CONSTANT.match(n.id)}
        for name in names:
            constants.setdefault(name, []).append(module)
    return {name: sorted(found) for name, found in sorted(constants.items())}


def duplicated_constants() -> dict[str, list[str]]:
    """UPPER_CASE names assigned at module level in more than one benchlib module -> those modules."""
    return {name: found for name, found in module_constants().items() if len(found) > 1}


if __name__ == "__main__":  # pragma: no cover
    cycles = import_cycles()
    print(f"import cycles (strongly connected groups): {len(cycles)}")
    for group in cycles:
        print("  ", " <-> ".join(group))
    print(f"modules over {MAX_MODULE_LINES} lines: {len(long_modules())}")
    for module, lines in long_modules().items():
        print(f"   {module}: {lines}")
    print(f"imports of private names: {len(private_imports())}")
    for edge in private_imports():
        print(f"   {edge.importer}:{edge.line} {edge.imported}.{','.join(edge.names)}")
    imports = function_level_imports()
    print(f"function-level imports of benchlib modules: {len(imports)}")
    for found in imports:
        print(f"   {found.importer}:{found.line} {found.imported} ({found.reason or 'no reason given'})")
    print(f"UPPER_CASE constants assigned in more than one module: {len(duplicated_constants())}")
    for name, found in duplicated_constants().items():
        print(f"   {name}: {', '.join(found)}")
