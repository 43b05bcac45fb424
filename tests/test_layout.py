"""The import rules of docs/ARCHITECTURE.md, read from the code's own imports (no import is run)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNTIME = [REPO / "media_index", REPO / "searchsite"]
TOOLING = ("bench", "devstack", "tools", "tests")


def _modules(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (path for path in root.rglob("*.py") if "migrations" not in path.parts)


def _imports(path: Path) -> Iterator[tuple[str, bool]]:
    """(imported module, inside a function) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(child) for child in ast.walk(node) if child is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, id(node) in in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, id(node) in in_function


def _named(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_the_runtime_never_imports_tooling() -> None:
    found = [(_named(path), module) for path in _modules(*RUNTIME) for module, _ in _imports(path)
             if module.split(".")[0] in TOOLING]  # fmt: skip
    assert found == []


@pytest.mark.parametrize("room", ["services", "search", "selectors.py", "embedding", "synthetic", "training"])
def test_lower_rooms_never_import_tasks_views_api_or_admin(room: str) -> None:
    upper = ("media_index.tasks", "media_index.views", "media_index.api", "media_index.admin")
    target = REPO / "media_index" / room
    paths = [target] if target.is_file() else list(_modules(target))
    found = [(_named(path), module) for path in paths for module, _ in _imports(path) if module.startswith(upper)]
    assert found == []


def test_tasks_import_services_only_and_at_the_top() -> None:
    imports = list(_imports(REPO / "media_index" / "tasks.py"))
    ours = [module for module, _ in imports if module.startswith("media_index")]
    assert ours and all(module.startswith("media_index.services.") for module in ours)
    assert not [module for module, inside in imports if inside]


def test_the_admin_starts_work_through_services_not_tasks() -> None:
    assert not [
        module for module, _ in _imports(REPO / "media_index" / "admin.py") if module.startswith("media_index.tasks")
    ]


def test_synthetic_content_needs_neither_torch_nor_django() -> None:
    found = [(_named(path), module) for path in _modules(REPO / "media_index" / "synthetic")
             for module, _ in _imports(path) if module.split(".")[0] in ("torch", "django", "open_clip")]  # fmt: skip
    assert found == []


def test_the_active_space_query_is_written_once() -> None:
    """Which space serves searches is read in one selector; activation (a write) is the other side."""
    readers = [_named(path) for path in _modules(*RUNTIME)
               if "filter(is_active=True, modality=modality)" in path.read_text(encoding="utf-8")]  # fmt: skip
    assert readers == ["media_index/selectors.py"]
