"""The layers import only downwards: contracts ← wijkbus ← services ← tools.

`contracts` is the language, `wijkbus` the kit every service uses, `services/<name>` one bounded
context each, and `tools` (the `wijkbus` command, the dev stack) sits above them all. Read from the
source with `ast`, so a lazy import inside a function or a module named in a string (what
`importlib.import_module` or `python -m` are given) counts as much as a top-level import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# A dotted module path in a string, e.g. "services.intake.replay" or the "services." of
# f"services.{name}"; prose (docstrings, messages) has spaces and never matches.
MODULE_STRING = re.compile(r"(?:[A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*\.?")


def modules(package: str) -> list[Path]:
    """Every Python module of a top-level package of the repository."""
    return sorted((REPO / package).rglob("*.py"))


def named_modules(tree: ast.AST) -> Iterator[str]:
    """The absolute module names a module imports or names in a string, anywhere in it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            # `from services import routing` imports services.routing.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "." in node.value
            and MODULE_STRING.fullmatch(node.value)
        ):
            yield node.value.rstrip(".")


def reaches(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    """The forbidden packages (or their modules) that the module at `path` names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return sorted({name for name in named_modules(tree) if name.split(".")[0] in forbidden})


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """`path: names` for each module of `package` that reaches into a forbidden package."""
    found = []
    for path in modules(package):
        if names := reaches(path, forbidden):
            found.append(f"{path.relative_to(REPO)}: {', '.join(names)}")
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("contracts", ("wijkbus", "services", "tools")),
        ("wijkbus", ("services", "tools")),
        ("services", ("tools",)),
    ],
)
def test_a_layer_never_imports_the_layers_above_it(
    package: str, forbidden: tuple[str, ...]
) -> None:
    assert modules(package), f"no modules found under {package}/"
    found = violations(package, forbidden)
    assert not found, f"{package} reaches up into {'/'.join(forbidden)}:\n" + "\n".join(found)


def test_a_service_never_imports_another_service() -> None:
    found = []
    for service in sorted(p.name for p in (REPO / "services").iterdir() if p.is_dir()):
        if not (REPO / "services" / service / "__init__.py").exists():
            continue
        for path in modules(f"services/{service}"):
            tree = ast.parse(path.read_text(), filename=str(path))
            others = sorted(
                {
                    name
                    for name in named_modules(tree)
                    if name.split(".")[0] == "services"
                    and len(name.split(".")) > 1
                    and name.split(".")[1] != service
                }
            )
            if others:
                found.append(f"{path.relative_to(REPO)}: {', '.join(others)}")
    assert not found, "a service imports another service:\n" + "\n".join(found)


def test_the_layering_check_sees_lazy_imports_and_module_strings() -> None:
    source = (
        "def f():\n"
        "    from services.budget import demo\n"
        "    import tools.cli\n"
        "from services import routing\n"
        "REPLAYABLE = {'intake': 'services.intake.replay'}\n"
        "CMD = f'services.{name}'\n"
        "DOC = 'the services. They run'\n"
    )
    names = set(named_modules(ast.parse(source)))
    assert {
        "services.budget",
        "tools.cli",
        "services.routing",
        "services.intake.replay",
        "services",
    } <= names
    assert "the services. They run" not in names
