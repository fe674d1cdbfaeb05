"""The package's shape: an import graph without cycles, tasks independent of the
estimators, and the data files a plain install needs."""
import ast
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Where each installed package's source lives (pyproject's package-dir).
SOURCES = {"mibench": ROOT / "mibench", "mibench.tasks": ROOT / "tasks", "mibench.ground_truth": ROOT / "ground_truth"}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """mibench modules that ``path`` imports, at any depth of the file (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out |= {t for t in targets if t in known}
    return out - {name}


@pytest.fixture(scope="module")
def graph():
    found = modules()
    return {name: imports(path, name, set(found)) for name, path in found.items()}


def test_the_source_folders_are_the_ones_the_design_names():
    assert (ROOT / "tasks" / "__init__.py").is_file() and (ROOT / "ground_truth" / "__init__.py").is_file()
    assert (ROOT / "mibench" / "map" / "sweep.py").is_file() and not (ROOT / "mibench" / "tasks").exists()


def test_nothing_inside_the_package_imports_its_public_api(graph):
    # mibench/__init__ gathers the public API; a module importing it would close a loop.
    assert {name for name, deps in graph.items() if "mibench" in deps} == set()


def test_the_import_graph_has_no_cycle(graph):
    del graph["mibench"]  # the public API at the top imports from everywhere and nothing imports it
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_tasks_do_not_import_estimators(graph):
    arrows = {(a, b) for a, deps in graph.items() for b in deps
              if a.startswith("mibench.tasks") and (b.startswith("mibench.estimators") or b == "mibench.registry")}
    assert arrows == set()


def test_the_spec_grammar_and_the_contract_are_the_bottom(graph):
    assert graph["mibench.spec"] == set() and graph["mibench.interface"] == set()


@pytest.mark.parametrize("package, pattern", [("mibench.map.suites", "*.toml"), ("mibench.ground_truth", "*.csv"),
                                              ("mibench.ground_truth", "provenance.json")])
def test_data_files_are_reachable_as_package_resources(package, pattern):
    assert [p for p in resources.files(package).iterdir() if Path(p.name).match(pattern)]


def test_every_source_package_is_listed_for_the_wheel():
    # pyproject lists packages by hand (package-dir maps root folders into mibench); a
    # folder missing from the list installs editable but vanishes from a plain wheel.
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    present = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert present - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - present == set()


def test_the_judging_language_sits_on_a_low_floor(graph):
    # regimes, tolerances and ceilings: read by the map, the verdicts, the gates and the CLI alike
    assert graph["mibench.judging"] <= {"mibench._validate", "mibench.arrays"}
    assert graph["mibench.arrays"] == set()


@pytest.mark.parametrize("user", ["mibench.cli", "mibench.verdicts"])
def test_the_verdicts_and_the_command_line_never_reach_into_the_sweep_or_the_suite_loader(graph, user):
    users = [name for name in graph if name == user or name.startswith(user + ".")]
    reached = {(u, d) for u in users for d in graph[u] if d in ("mibench.map.sweep", "mibench.map.suite")}
    assert reached == set()


def test_a_cell_is_made_only_by_its_group():
    # Group.cell copies the group's identity and placement into each cell: nobody else builds one
    makers = [f"{name}:{node.lineno}" for name, path in modules().items() if name != "mibench.map.cells"
              for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Cell"]
    assert makers == []


def test_callers_ask_estimators_their_tags_never_their_class():
    # inside mibench.estimators a family may test its own kinds; everywhere else an
    # estimator is asked what it takes (inputs, count_based, discrete, codes(), ...)
    classes = set()
    for path in (ROOT / "mibench" / "estimators").glob("*.py"):
        classes |= {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)}
    found = []
    for name, path in modules().items():
        if name.startswith("mibench.estimators"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "issubclass"):
                named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)} if len(node.args) > 1 else set()
                if named & (classes - {"BaseEstimator"}):
                    found.append(f"{name}:{node.lineno}")
    assert found == []
