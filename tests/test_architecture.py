"""The house rules of engine/, checked on the source: imports flow one way along the data flow
(model -> layout -> scene -> render -> app / record, compute beside; scene files and the pipeline
above compute), nothing imports the CLI or the pipeline from below, no import cycles, no private
names across modules, one place selects the GL platform, shaders live in shaders/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"

# room -> rooms it may import (itself always). "engine" is the package itself (__version__, the lazy
# record and show); cli, pipeline and notebook are the top-level modules engine/cli.py (with its command
# modules engine/cli_*.py), engine/pipeline.py and engine/notebook.py (engine.show for Jupyter)
ALLOWED = {
    "errors": set(),
    "colormaps": {"errors"},
    "model": {"errors"},
    "layout": {"errors", "model"},
    "scene": {"errors", "colormaps", "model", "layout"},
    "compute": {"errors", "colormaps", "model", "layout", "scene"},
    "scenefile": {"errors", "colormaps", "model", "layout", "scene", "compute"},
    "pipeline": {"errors", "model", "layout", "scene", "compute", "scenefile"},
    "analysis": {"errors", "model", "scene", "compute", "pipeline"},
    "render": {"errors", "colormaps", "layout", "scene"},
    "app": {"errors", "colormaps", "model", "layout", "scene", "compute", "render", "scenefile"},
    "record": {"engine", "errors", "colormaps", "model", "layout", "scene", "compute", "render", "scenefile", "pipeline"},
    "notebook": {"errors", "colormaps", "model", "layout", "scene", "compute", "render", "scenefile", "pipeline",
                 "app", "record"},
    "cli": {"engine", "errors", "colormaps", "model", "layout", "scene", "compute", "render", "scenefile", "pipeline",
            "analysis", "app", "record", "notebook"},
    "engine": {"model", "notebook"},
}


def _module(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1].startswith("cli_"):
        return "cli"
    return parts[1] if len(parts) > 1 else "engine"


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) for every import in the file, function-local ones included."""
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            out.append((base, [a.name for a in node.names], node.lineno))
    return out


FILES = sorted(ENGINE.rglob("*.py"))
MODULES = {_module(p) for p in FILES}


def _target(base: str, names: list[str]) -> list[str]:
    """Modules an import statement loads: ``from pkg import sub`` counts as pkg.sub."""
    subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
    return subs or [base]


def test_imports_flow_one_way():
    bad = []
    for p in FILES:
        me = _room(_module(p))
        for base, names, line in _imports(p):
            if not base.startswith("engine"):
                continue
            room = _room(base)
            if room != me and room not in ALLOWED[me]:
                bad.append(f"{p.relative_to(ENGINE.parent)}:{line} ({me}) imports {base} ({room})")
    assert not bad, "imports against the data flow:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = {m: set() for m in MODULES}
    for p in FILES:
        me = _module(p)
        for base, names, _ in _imports(p):
            for t in _target(base, names):
                if t in MODULES and t != me:
                    graph[me].add(t)
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(" -> ".join(stack[stack.index(n):] + [n]))
            elif n not in state:
                visit(n, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_private_names_across_modules():
    bad = [f"{p.relative_to(ENGINE.parent)}:{line} imports {n} from {base}"
           for p in FILES for base, names, line in _imports(p)
           if base.startswith("engine") for n in names if n.startswith("_") and not n.startswith("__")]
    assert not bad, "\n".join(bad)


def test_gl_platform_chosen_in_one_place():
    setters = [p.relative_to(ENGINE.parent) for p in FILES if "PYOPENGL_PLATFORM\", \"egl\")" in p.read_text()
               or "PYOPENGL_PLATFORM'] =" in p.read_text() or "PYOPENGL_PLATFORM\"] =" in p.read_text()]
    assert [str(s) for s in setters] == ["engine/render/glplatform.py"]
    init = (ENGINE / "render" / "__init__.py").read_text()
    first = next(n for n in ast.parse(init).body if isinstance(n, (ast.Import, ast.ImportFrom)))
    assert isinstance(first, ast.ImportFrom) and first.module == "engine.render" and first.names[0].name == "glplatform"


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name in ("render", "passes")], ids=lambda p: p.name)
def test_no_glsl_in_python(path):
    text = path.read_text()
    assert "#version" not in text and "gl_Position" not in text, f"{path.name}: shaders belong in shaders/"


def test_every_package_ships():
    """pyproject lists packages by name: a new package missing there is missing from the wheel."""
    import tomllib
    listed = set(tomllib.loads((ENGINE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {_module(p) for p in FILES if p.name == "__init__.py"}
    assert packages <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(packages - listed)}"
