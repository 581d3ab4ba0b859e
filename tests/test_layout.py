"""The code's shape: no import cycle among the project's modules, and only the Telegram front end imports
`telegram` (the core is shared by the CLI, the terminal chat and the tests)."""

from __future__ import annotations

import ast

from .conftest import PROJECT

PACKAGES = ("bot", "embeddings", "policy_corpus")
TELEGRAM_FRONT_END = {"bot.telegram_app", "bot.webhook"}


def module_name(path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, with relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    files = [path for package in PACKAGES for path in (PROJECT / package).rglob("*.py")]
    modules = {module_name(path): path for path in files}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_only_the_telegram_front_end_imports_telegram():
    for package in PACKAGES:
        for path in (PROJECT / package).rglob("*.py"):
            uses = {m for m in imports(path) if m == "telegram" or m.startswith("telegram.")}
            if module_name(path) not in TELEGRAM_FRONT_END:
                assert not uses, f"{module_name(path)} imports {sorted(uses)}"


def test_the_core_packages_never_import_the_bot():
    for name, targets in graph().items():
        if not name.startswith("bot"):
            assert not {t for t in targets if t.startswith("bot")}, f"{name} imports the bot"
