"""The installed package: every subpackage is listed, and the default model travels with it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from composer.training.trained import shipped_model_path

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_every_subpackage():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    in_tree = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "composer").rglob("__init__.py")}
    assert set(settings["packages"]) == in_tree | {"composer.shipped"}
    assert settings["package-dir"] == {"composer.shipped": "models"}
    assert (ROOT / "models" / "default" / "model.npz").is_file()


def test_source_tree_finds_the_shipped_model():
    assert shipped_model_path() == ROOT / "models" / "default"


def test_a_fresh_install_samples_from_any_folder(tmp_path):
    """`pip install .` (not editable), then `composer sample` far from the source tree."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "composer", source / "composer",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (source / "models" / "default").mkdir(parents=True)
    shutil.copy(ROOT / "models" / "default" / "model.npz", source / "models" / "default")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-m", "composer.cli", "sample", "--length", "32",
                          "--seed", "1"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (elsewhere / "samples" / "sample-001.mid").stat().st_size > 0
    info = subprocess.run([sys.executable, "-m", "composer.cli", "info"], cwd=elsewhere, env=env,
                          capture_output=True, text=True)
    assert f"model: {target / 'composer' / 'shipped' / 'default' / 'model.npz'}" in info.stdout
