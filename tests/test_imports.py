"""Which app may import which, read from the source: `common` <- `policies` <- `identity`.

Every import counts, also those inside functions and under `TYPE_CHECKING`: a lazy import hides
an arrow from Python's import order, not from the people changing the code.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accessproject", "common", "policies", "identity", "demo")
# Who may not be imported by whom: policies never knows identity; common knows neither.
FORBIDDEN = {
    "common": ("policies", "identity", "demo", "accessproject"),
    "policies": ("identity", "demo", "accessproject"),
    "identity": ("demo", "accessproject"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }


def _imported(name: str, path: Path) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for target in _imported(name, path) if target in modules and target != name}
        for name, path in modules.items()
    }


def _app(module: str) -> str:
    return module.partition(".")[0]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as the list of modules around it, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        trail: list[str] = []
        on_trail: set[str] = set()
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        trail.append(start)
        on_trail.add(start)
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                stack.pop()
                trail.pop()
                on_trail.discard(node)
                done.add(node)
            elif target in on_trail:
                return [*trail[trail.index(target) :], target]
            elif target not in done:
                stack.append((target, iter(sorted(graph[target]))))
                trail.append(target)
                on_trail.add(target)
    return None


def test_the_reader_sees_the_imports_it_must_judge():
    graph = _graph()

    assert "common.models" in graph["common.versioning"]
    assert "policies.snapshot" in graph["identity.gate"]
    # A relative import and one inside a function count too.
    assert "identity.checks" in graph["identity.apps"]


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_no_app_imports_one_above_it(app):
    arrows = sorted(
        f"{source} -> {target}"
        for source, targets in _graph().items()
        if _app(source) == app
        for target in targets
        if _app(target) in FORBIDDEN[app]
    )

    assert arrows == []


def test_the_modules_import_one_another_without_a_cycle():
    assert _cycle(_graph()) is None


def test_a_cycle_is_found_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert _cycle(graph) == ["a", "b", "c", "a"]
