"""Targets belong to the data: nothing under hardseg/data imports hardseg.modeling."""

import ast
from pathlib import Path

import hardseg

DATA = Path(hardseg.__file__).parent / "data"


def _imported_modules(path: Path):
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    package = "hardseg." + ".".join(path.relative_to(DATA.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + ".__init__"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield name
            yield from (f"{name}.{a.name}" for a in node.names)


def test_resolver_sees_relative_imports(tmp_path):
    # the check below can fail: a relative import of the models from a mapper is caught
    fake = DATA / "mappers" / "semantic_mapper.py"
    tree = list(_imported_modules(fake))
    assert "hardseg.data.targets" in tree and "hardseg.data.mappers.semantic_mapper" not in tree


def test_no_module_under_data_imports_modeling():
    offenders = {
        str(p.relative_to(DATA.parent)): name
        for p in sorted(DATA.rglob("*.py"))
        for name in _imported_modules(p)
        if name == "hardseg.modeling" or name.startswith("hardseg.modeling.")
    }
    assert not offenders, f"hardseg/data must not import hardseg.modeling: {offenders}"
