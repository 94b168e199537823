"""DESIGN.md layers: `routing` never imports `personas` (it takes personas as plain data)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_routing_does_not_import_personas():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "personas")
        for path in (ROOT / "routing").rglob("*.py")
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_check_sees_every_routing_module():
    assert len(list((ROOT / "routing").rglob("*.py"))) > 5


PURE = ["config", "resolve", "strategies", "pricing", "detect", "registry"]


def test_resolution_is_pure():
    """STYLE B-2: the resolver and what it reads import no Django (no ORM, cache or settings)."""
    offenders = {
        name: sorted(m for m in imported_modules(ROOT / "routing" / f"{name}.py") if m.split(".")[0] in {"django", "personas", "qfweb"})
        for name in PURE
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
