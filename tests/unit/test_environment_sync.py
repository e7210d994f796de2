"""environment.yml (conda users) must list exactly the dependencies of pyproject.toml."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.update(extra)
    return requirements


def _conda_pip_requirements() -> tuple[set[str], list]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    return {r for r in pip_lists[0] if not r.startswith("-")}, environment["dependencies"]


def test_environment_yml_lists_the_same_requirements_as_pyproject():
    conda, _ = _conda_pip_requirements()
    pyproject = _pyproject_requirements()
    assert conda - pyproject == set(), f"only in environment.yml: {sorted(conda - pyproject)}"
    assert pyproject - conda == set(), f"only in pyproject.toml: {sorted(pyproject - conda)}"


def test_environment_yml_installs_benchlib_and_the_supported_python():
    _, dependencies = _conda_pip_requirements()
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict))
    assert "-e ." in pip_section
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    python = next(d for d in dependencies if isinstance(d, str) and d.startswith("python="))
    minimum = requires.removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))
