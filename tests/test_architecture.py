"""The rules between composer's subpackages, checked on the source of every module.

Every import is read with `ast`, including imports inside functions (the lazy
ones), so a rule cannot be dodged by importing late. The rules:

1. `composer.nn` imports NumPy, the standard library and itself, nothing else:
   the network never knows what a note is.
2. `composer.music` never imports the network, the data pipeline, training,
   generation, evaluation, the listening tools or the command line.
3. `composer.data` never imports the network, training, generation, evaluation,
   the listening tools or the command line.
4. Only `composer.cli` imports click.
5. Only `composer.music.midi` imports mido.
6. No module outside `composer.cli` imports `composer.cli` (so `composer.studio` never does).
7. Only `composer.studio` imports the web framework and server (WEB_PACKAGES).
8. No module is longer than MAX_MODULE_LINES.

The checker is tested on made-up modules too, so a rule that never fires is caught.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "composer"
MAX_MODULE_LINES = 420  # "small modules with one role each": split a module before this

NOT_FROM_MUSIC = ("nn", "data", "training", "generation", "evaluation", "listen", "cli")
NOT_FROM_DATA = ("nn", "training", "generation", "evaluation", "listen", "cli")
WEB_PACKAGES = ("starlette", "uvicorn", "multipart", "httpx", "httpx2", "selenium")


def module_name(path: Path) -> str:
    """composer/music/midi/reader.py -> composer.music.midi.reader (packages: their name)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_tree() -> dict[str, str]:
    """{module name: source} of every module of the package."""
    return {module_name(p): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str, source: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports, absolute, at any depth (functions included)."""
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from ..music import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(modules: dict[str, str], packages: set[str] = frozenset()) -> list[str]:
    """One line per broken rule: "MODULE imports NAME (rule)"."""
    problems = []
    for module, source in sorted(modules.items()):
        for name in sorted(imports_of(module, source, module in packages)):
            rule = broken_rule(module, name)
            if rule:
                problems.append(f"{module} imports {name} ({rule})")
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            problems.append(f"{module} has {lines} lines (limit {MAX_MODULE_LINES})")
    return problems


def broken_rule(module: str, name: str) -> str | None:
    """The rule `module` breaks by importing `name`, or None."""
    top = name.split(".")[0]
    if within(module, "composer.nn"):
        allowed = within(name, "composer.nn") or top == "numpy" or top == "__future__" or (
            top in sys.stdlib_module_names)
        if not allowed:
            return "composer.nn imports only NumPy, the standard library and itself"
    if within(module, "composer.music") and any(
            within(name, f"composer.{p}") for p in NOT_FROM_MUSIC):
        return "music never imports the network, data, training, generation, evaluation, " \
               "listening or CLI code"
    if within(module, "composer.data") and any(
            within(name, f"composer.{p}") for p in NOT_FROM_DATA):
        return "data never imports the network, training, generation, evaluation, " \
               "listening or CLI code"
    if top == "click" and not within(module, "composer.cli"):
        return "only composer.cli imports click"
    if top == "mido" and not within(module, "composer.music.midi"):
        return "only composer.music.midi imports mido"
    if within(name, "composer.cli") and not within(module, "composer.cli"):
        return "library code never imports the CLI"
    if top in WEB_PACKAGES and not within(module, "composer.studio"):
        return "only composer.studio imports the web framework and server"
    return None


def test_composer_keeps_its_rules():
    packages = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert violations(source_tree(), packages) == []


def test_every_subpackage_is_seen():
    names = set(source_tree())
    for package in ("music", "music.midi", "nn", "data", "training", "generation",
                    "evaluation", "listen", "cli", "studio"):
        assert f"composer.{package}" in names
    assert "composer.nn.rnn" in names  # the course API lives at composer.nn.rnn


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("composer.nn.model", "from composer.music.notes import Note\n", "composer.nn imports"),
        ("composer.nn.lstm", "from composer.errors import ComposerError\n", "composer.nn"),
        ("composer.nn.lstm", "def f():\n    import tqdm\n", "composer.nn imports"),
        ("composer.music.melody", "from composer.nn import model\n", "music never"),
        ("composer.music.stats", "def f():\n    from composer.data import corpus\n", "music"),
        ("composer.music.midi.reader", "from ...training import checkpoint\n", "music never"),
        ("composer.data.dataset", "from composer.training.config import X\n", "data never"),
        ("composer.training.train", "import click\n", "only composer.cli imports click"),
        ("composer.music.stats", "import mido\n", "only composer.music.midi imports mido"),
        ("composer.generation.sampling", "from composer.cli import main\n", "imports the CLI"),
        ("composer.studio.app", "from composer.cli.common import warn\n", "imports the CLI"),
        ("composer.cli.studio", "import uvicorn\n", "only composer.studio imports the web"),
        ("composer.listen.render", "def f():\n    from starlette import x\n", "only composer"),
    ],
)
def test_each_rule_catches_a_violation(module, source, rule):
    found = violations({module: source})
    assert found and all(rule in line for line in found), found


def test_allowed_imports_pass():
    allowed = {
        "composer.nn.model": "import numpy as np\nfrom composer.nn.lstm import x\nimport math\n",
        "composer.music.midi.writer": "import mido\nfrom composer.music.notes import Note\n",
        "composer.cli.train": "import click\nfrom composer.training import train\n",
        "composer.data.corpus": "from composer.music.midi import read_midi\n",
        "composer.studio.server": "import uvicorn\nfrom composer.studio.app import create_app\n",
    }
    assert violations(allowed) == []


def test_a_long_module_is_reported():
    found = violations({"composer.music.big": "x = 1\n" * (MAX_MODULE_LINES + 1)})
    assert found == [f"composer.music.big has {MAX_MODULE_LINES + 1} lines "
                     f"(limit {MAX_MODULE_LINES})"]
