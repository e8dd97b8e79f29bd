"""The rooms and the arrows allowed between them (README "Folder tour", ARCHITECTURE.md), read from
the code's own import statements: a new arrow that runs the wrong way fails here, not in review."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "engine", "storage", "config", "locales")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (lazy imports count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, set[str]]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = _imports(path)
    return out


MODULES = _modules()


def _hits(importer_prefixes: tuple[str, ...], imported_prefixes: tuple[str, ...],
          allowed: tuple[str, ...] = ()) -> list[str]:
    def under(name: str, prefixes: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    return sorted(f"{mod} -> {imp}" for mod, imports in MODULES.items()
                  if under(mod, importer_prefixes) and not under(mod, allowed)
                  for imp in imports if under(imp, imported_prefixes))


def test_the_packages_are_found():
    assert {"engine.core", "storage.db", "bot.app", "bot.delivery.service"} <= MODULES.keys()


@pytest.mark.parametrize(("importers", "imported", "allowed", "why"), [
    (("engine", "storage"), ("bot", "aiogram"), (),
     "the engine and storage run without Telegram (demo, replay, backtest, record)"),
    (("engine",), ("storage",), (), "detectors and feeds know nothing of the database"),
    (("storage",), ("engine",), ("storage",), "storage keeps rows; the engine is not its business"),
    (("bot", "engine", "storage", "config", "locales"), ("bot.handlers",), ("bot.handlers", "bot.app"),
     "handlers only parse, call a service and answer: nothing but the app that registers them "
     "imports them"),
    (("bot.delivery",), ("bot.middlewares", "bot.handlers"), (),
     "delivery sends what it is given; the update pipeline is not its business"),
    (("bot.keyboards", "bot.middlewares"), ("bot.handlers",), (), "no arrow runs back up into handlers"),
])
def test_no_arrow_runs_the_wrong_way(importers, imported, allowed, why):
    assert _hits(importers, imported, allowed) == [], why
