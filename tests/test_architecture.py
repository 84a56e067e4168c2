"""The shape of the house: services share only `libs/`, and `libs/` never name a service; the tools
(`tools/`, the demo loader) may use anything, and nothing uses them.

So each service's package installs and runs alone (its image carries no other service's code),
and a projection can be deployed and scaled without the producer's code or credentials."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "pyproject.toml").exists())
LIBS = sorted(path.name for path in (ROOT / "libs").iterdir() if (path / "pyproject.toml").exists())


def imported_packages(source_root: Path) -> dict[str, set[str]]:
    """Top-level packages imported by each module under `source_root` (file -> packages)."""
    found: dict[str, set[str]] = {}
    for path in source_root.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_repository_has_the_services_and_libraries_this_test_guards():
    assert SERVICES == ["gateway", "ingest", "metrics", "statutory"]
    assert LIBS == ["identity", "runtime", "schemas"]


def test_no_service_imports_another_service():
    offences = [
        f"{module} imports tidemark_{other}"
        for service in SERVICES
        for module, packages in imported_packages(ROOT / "services" / service / "src").items()
        for other in SERVICES
        if other != service and f"tidemark_{other}" in packages
    ]
    assert offences == []


def test_no_service_test_imports_another_service():
    """Tests that cross services live in tests/ at the top."""
    offences = [
        f"{module} imports tidemark_{other}"
        for service in SERVICES
        for module, packages in imported_packages(ROOT / "services" / service / "tests").items()
        for other in SERVICES
        if other != service and f"tidemark_{other}" in packages
    ]
    assert offences == []


def test_the_libraries_never_import_a_service():
    offences = [
        f"{module} imports {package}"
        for lib in LIBS
        for module, packages in imported_packages(ROOT / "libs" / lib / "src").items()
        for package in packages
        if package in {f"tidemark_{service}" for service in SERVICES}
    ]
    assert offences == []


def test_no_library_or_service_imports_the_tools():
    offences = [
        f"{module} imports tidemark_tools"
        for folder in [ROOT / "libs" / lib for lib in LIBS] + [ROOT / "services" / s for s in SERVICES]
        for part in ("src", "tests")
        for module, packages in imported_packages(folder / part).items()
        if "tidemark_tools" in packages
    ]
    assert offences == []


def imported_modules(source_root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same source tree it imports (at any level, `TYPE_CHECKING` too)."""
    modules = {
        ".".join(path.relative_to(source_root).with_suffix("").parts).removesuffix(".__init__"): path
        for path in source_root.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {module for module in found if module in modules and module != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first walk (each reported once, from where it was met)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def test_no_package_has_an_import_cycle():
    """A cycle makes the order of imports matter and hides which module is the lower layer (the demo
    generator and its statutory part had one)."""
    roots = [ROOT / "libs" / lib / "src" for lib in LIBS] + [ROOT / "services" / s / "src" for s in SERVICES]
    roots.append(ROOT / "tools" / "src")
    found = {str(root.relative_to(ROOT)): cycles(imported_modules(root)) for root in roots}
    assert {root: cycles_found for root, cycles_found in found.items() if cycles_found} == {}


def test_no_package_depends_on_a_service_package():
    service_packages = {f"tidemark-{service}" for service in SERVICES}
    for folder in [ROOT / "services" / s for s in SERVICES] + [ROOT / "libs" / lib for lib in LIBS]:
        named = declared_dependencies(folder)
        assert named & (service_packages - {project_name(folder)}) == set(), project_name(folder)
        assert "tidemark-tools" not in named, project_name(folder)


def project_name(folder: Path) -> str:
    return str(tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"])


def declared_dependencies(folder: Path) -> set[str]:
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    dependencies = project.get("dependencies", []) + [
        dependency for extra in project.get("optional-dependencies", {}).values() for dependency in extra
    ]
    return {dependency.split("[")[0].split("=")[0].split(">")[0].strip() for dependency in dependencies}
