"""The house's import rules, read from the source with `ast`: no modules that import each other in
a loop, and no import inside a function except one that keeps a backend (TensorFlow, Keras, JAX,
PyTorch, or a module of ours that imports one) out of start-up: a bad command line then fails in
a fraction of a second, and TensorFlow starts only after `quiet.start_tensorflow` has quieted it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"src": ROOT / "src", "library": ROOT / "packages" / "attention" / "src", "benchmarks": ROOT / "benchmarks"}
BACKENDS = {"tensorflow", "keras", "jax", "torch"}


def _modules():
    """{dotted module name: path} of every module under src/ and benchmarks/ (benchmarks/ runs as
    scripts, its modules importing each other by their bare names)."""
    modules = {}
    for base in SOURCES.values():
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _imports(name, path):
    """(imported module, inside a function?, line) for each import of module `name`: a name taken
    from a package (`from experiments import provenance`) counts as its submodule where one exists."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, inside, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # a relative import
                    base = ".".join([*package.split(".")[: len(package.split(".")) - child.level + 1], base]).strip(".")
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    found.append((submodule if submodule in MODULES else base, inside, child.lineno))
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _ours(imported):
    return imported in MODULES


def _heavy_modules():
    """Our modules that start a backend when imported: one of their top-level imports is a
    backend or another such module (to a fixed point)."""
    heavy = set()
    while True:
        more = {
            name
            for name, imports in IMPORTS.items()
            if name not in heavy
            and any(not inside and (i.split(".")[0] in BACKENDS or i in heavy) for i, inside, _ in imports)
        }
        if not more:
            return heavy
        heavy |= more


HEAVY = _heavy_modules()


def test_the_rules_read_the_real_house():
    """Guards the reading itself: the modules are found, and those known to start Keras count as heavy."""
    assert {"attention", "attention.audit", "experiments.run.runner", "experiments.run.cli"} <= set(MODULES)
    assert {"attention", "experiments.run.runner"} <= HEAVY
    assert "experiments.run.cli" not in HEAVY  # its checks must stay fast


def test_no_import_inside_a_function_but_one_that_keeps_a_backend_out_of_start_up():
    lazy = [
        f"{MODULES[name].relative_to(ROOT)}:{line}: import {imported}"
        for name, imports in IMPORTS.items()
        for imported, inside, line in imports
        if inside and imported.split(".")[0] not in BACKENDS and imported not in HEAVY
    ]
    assert not lazy, "imports inside a function that start no backend: move them to the top\n" + "\n".join(lazy)


def test_no_two_modules_import_each_other_in_a_loop():
    """Every import counts, inside a function too (there it hid two loops before)."""
    graph = {name: sorted({i for i, _, _ in imports if _ours(i) and i != name}) for name, imports in IMPORTS.items()}
    state, loops = {}, []

    def walk(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                loops.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[node] = "done"

    for name in graph:
        if name not in state:
            walk(name, [name])
    assert not loops, "modules that import each other in a loop:\n" + "\n".join(loops)


@pytest.mark.parametrize("source", ["import experiments.run.cli", "from experiments.run import cli"])
def test_a_loop_would_be_found(source, tmp_path, monkeypatch):
    """The reading counts both spellings of an import, so a loop of either kind is seen."""
    path = tmp_path / "loop.py"
    path.write_text(f"def later():\n    {source}\n")
    imported, inside, _ = _imports("experiments.loop", path)[0]
    assert (imported, inside) == ("experiments.run.cli", True)
