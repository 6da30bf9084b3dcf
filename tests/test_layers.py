"""Dependencies inside `core` point down only, along the floors declared in `core/layers.py`.

Imports are read from the source with `ast`, all of them: inside functions and under
`if TYPE_CHECKING:` too, since a circle hidden in a function is still a circle.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import core
from core.layers import ORDER

CORE = Path(core.__file__).parent
OUTSIDE_CORE = ("bot", "desk", "sandbox", "tests", "scripts", "bench")


@dataclass(frozen=True)
class Import:
    where: str  # path:line, for the message
    importer: str  # dotted module name
    imported: str  # dotted module name (a module when `from package import module`)


@dataclass(frozen=True)
class Graph:
    top: str  # the package's name: `core`
    modules: set[str]
    imports: list[Import]


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_imports(root: Path) -> Graph:
    """Every module under `root` (a package directory) and every import they make, by name."""
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(root, p) for p in paths}
    found = []
    for path in paths:
        importer = module_name(root, path)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                found += [Import(where, importer, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolved against the importing package
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    name = f"{base}.{alias.name}"
                    found.append(Import(where, importer, name if name in modules else base))
    return Graph(root.name, modules, found)


def part_of(module: str) -> str:
    """`core.records.people` is in `records`, `core.db` is `db`; `core` itself is the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward_imports(graph: Graph, order: tuple[str, ...]) -> list[str]:
    top = graph.top
    problems = []
    for imp in graph.imports:
        if imp.imported.split(".")[0] != top:
            continue
        source, target = part_of(imp.importer), part_of(imp.imported)
        if source == target or target == top:
            continue
        if source not in order or target not in order:
            continue  # reported by the test that every part has a floor
        if order.index(target) > order.index(source):
            problems.append(f"{imp.where}: {source} imports {imp.imported}, which is above it")
    return list(dict.fromkeys(problems))  # `from x import a, b` is one problem, not two


def circles(graph: Graph) -> list[str]:
    edges: dict[str, set[str]] = {m: set() for m in graph.modules}
    for imp in graph.imports:
        if imp.imported in graph.modules and imp.imported != imp.importer:
            edges[imp.importer].add(imp.imported)
    problems = []
    while True:
        try:
            graphlib.TopologicalSorter(edges).prepare()
            return problems
        except graphlib.CycleError as error:
            cycle = error.args[1]
            problems.append(" -> ".join(cycle))
            edges[cycle[1]].discard(cycle[0])  # break it and look for the next one


def parts_present(graph: Graph) -> set[str]:
    return {part_of(m) for m in graph.modules if m != graph.top}


def imports_from_outside(graph: Graph, outside: tuple[str, ...]) -> Iterator[str]:
    for imp in graph.imports:
        if imp.imported.split(".")[0] in outside:
            yield f"{imp.where}: imports {imp.imported}"


# --- core itself ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def core_graph() -> Graph:
    return read_imports(CORE)


def test_every_part_of_core_has_its_place_on_a_floor_and_every_floor_names_real_parts(
        core_graph: Graph) -> None:
    present = parts_present(core_graph)
    assert sorted(present - set(ORDER)) == [], "a new part of core must be placed in core/layers.py"
    assert sorted(set(ORDER) - present) == [], "core/layers.py names a part that no longer exists"
    assert len(ORDER) == len(set(ORDER))


def test_no_part_of_core_imports_a_part_above_it(core_graph: Graph) -> None:
    assert upward_imports(core_graph, ORDER) == []


def test_no_module_of_core_is_part_of_a_circle(core_graph: Graph) -> None:
    assert circles(core_graph) == []


def test_core_imports_nothing_from_the_channels_the_sandbox_or_the_tests(core_graph: Graph) -> None:
    assert list(imports_from_outside(core_graph, OUTSIDE_CORE)) == []


def test_core_itself_imports_nothing_so_that_every_part_may_import_it(core_graph: Graph) -> None:
    assert [i for i in core_graph.imports if i.importer == "core" and i.imported.startswith("core")] == []


def test_the_two_channels_stand_side_by_side_on_core(core_graph: Graph) -> None:
    """The web console and the bot each go straight to `core`: neither uses the other's pages or
    journeys (nor the sandbox). Only the bot's entry points serve the console beside the webhook."""
    root = CORE.parent
    console = read_imports(root / "desk")
    assert list(imports_from_outside(console, ("bot", "sandbox", "tests"))) == []
    bot = read_imports(root / "bot")
    serving = {"bot.run", "bot.__main__"}
    assert [f"{i.where}: imports {i.imported}" for i in bot.imports
            if i.imported.split(".")[0] == "desk" and i.importer not in serving] == []


# --- the check finds what it is there to find --------------------------------------------------


@pytest.fixture()
def toy(tmp_path: Path) -> Path:
    """A small `core` with a record below consent, as the real one should be."""
    root = tmp_path / "core"
    for package in ("records", "consent"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "records" / "book.py").write_text("from core.records import rules\n")
    (root / "records" / "rules.py").write_text("")
    (root / "consent" / "policy.py").write_text("from core.records.rules import *\n")
    return root


def test_a_record_module_asking_consent_inside_a_function_is_caught(toy: Path) -> None:
    order = ("records", "consent")
    assert upward_imports(read_imports(toy), order) == []
    (toy / "records" / "book.py").write_text(
        "def build():\n    from core.consent import policy\n    return policy\n")
    assert upward_imports(read_imports(toy), order) == [
        "core/records/book.py:2: records imports core.consent.policy, which is above it"]


def test_a_circle_between_two_modules_is_caught_even_under_type_checking(toy: Path) -> None:
    assert circles(read_imports(toy)) == []
    (toy / "records" / "rules.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .book import Book\n")
    [circle] = circles(read_imports(toy))
    assert set(circle.split(" -> ")) == {"core.records.book", "core.records.rules"}


def test_a_part_missing_from_the_floors_is_noticed(toy: Path) -> None:
    (toy / "volunteering").mkdir()
    (toy / "volunteering" / "__init__.py").write_text("from core.consent import policy\n")
    assert parts_present(read_imports(toy)) - {"records", "consent"} == {"volunteering"}
