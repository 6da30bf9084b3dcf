"""The sandbox is a tool beside the product: nothing that runs in production imports it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from core.config import PROJECT_ROOT

PRODUCT = ("bot", "core")
TOOL = "sandbox"
# An import by name is an import too: importlib.import_module, runpy.run_module, __import__.
BY_NAME = {"import_module", "run_module", "__import__"}


def imported_modules(source: str) -> Iterator[str]:
    """Every module `source` imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in BY_NAME and isinstance(node.args[0].value, str):
                yield node.args[0].value


def sandbox_imports(source: str) -> list[str]:
    return [name for name in imported_modules(source) if name == TOOL or name.startswith(TOOL + ".")]


def test_the_check_finds_a_sandbox_import_anywhere_in_a_file() -> None:
    caught = sandbox_imports(
        "import sandbox\n"
        "from sandbox.guard import loopback_host\n"
        "def start():\n"
        "    import sandbox.run as run\n"
        "    importlib.import_module('sandbox.emulator')\n"
        "    runpy.run_module('sandbox', run_name='__main__')\n")
    assert caught == ["sandbox", "sandbox.guard", "sandbox.run", "sandbox.emulator", "sandbox"]
    assert sandbox_imports("from bot.sandboxes import x\nimport sandboxed\nsandbox = 'sandbox.run'\n") == []


def test_no_module_of_the_bot_or_the_record_service_imports_the_sandbox() -> None:
    files = [path for package in PRODUCT for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]
    assert len(files) > 50  # the walk found the packages
    offenders = {str(path.relative_to(PROJECT_ROOT)): found for path in files
                 if (found := sandbox_imports(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_the_sandboxs_own_modules_import_one_another_without_a_circle() -> None:
    # entities ⇄ entities_markdown was one, held by an import inside a function; the rules both
    # need now sit below them both.
    graph = {f"{TOOL}.{path.stem}": set(sandbox_imports(path.read_text(encoding="utf-8")))
             for path in (PROJECT_ROOT / TOOL).glob("*.py")}

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        waiting = [start]
        while waiting:
            for module in graph.get(waiting.pop(), ()):
                if module not in seen:
                    seen.add(module)
                    waiting.append(module)
        return seen

    assert "sandbox.entities_rules" in graph["sandbox.entities_markdown"]  # the walk sees imports
    assert sorted(module for module in graph if module in reachable(module)) == []


def test_the_whole_bot_and_its_command_line_load_without_the_sandbox(tmp_path: Path) -> None:
    # A fresh interpreter: every bot module imported and `python -m bot --help` built, the sandbox
    # command listed among them, and still no sandbox module loaded.
    script = (
        "import importlib, pkgutil, sys, bot\n"
        "for module in pkgutil.walk_packages(bot.__path__, 'bot.'):\n"
        "    importlib.import_module(module.name)\n"
        "from bot.__main__ import added_commands, build_parser\n"
        "print(build_parser(sorted(added_commands())).format_help())\n"
        "print('LOADED', sorted(m for m in sys.modules if m == 'sandbox' or m.startswith('sandbox.')))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert " sandbox " in result.stdout  # listed: the entry point is installed
    assert "LOADED []" in result.stdout
