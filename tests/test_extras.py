"""Optional extras: declared once in pyproject.toml and once in tailored.extras, and a command
whose extra is missing says in one line which extra to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tailored.errors import MissingExtra, TailoredError
from tailored.extras import EXTRAS, available, installed_extras, require

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
OPTIONAL = PYPROJECT["project"]["optional-dependencies"]


def hide(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``name`` (and its submodules) unimportable, as if it were not installed."""
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        monkeypatch.setitem(sys.modules, key, None)
    monkeypatch.setitem(sys.modules, name, None)


def test_every_extra_is_declared_in_pyproject_and_in_the_code() -> None:
    assert set(OPTIONAL) - {"all", "dev"} == set(EXTRAS)


def test_all_pulls_every_extra_and_dev_pulls_all() -> None:
    (everything,) = OPTIONAL["all"]
    assert everything.startswith("tailored[")
    assert set(everything[len("tailored["):-1].split(",")) == set(EXTRAS)
    assert "tailored[all]" in OPTIONAL["dev"]


def test_heavy_libraries_stay_out_of_the_base_install() -> None:
    base = " ".join(PYPROJECT["project"]["dependencies"])
    for heavy in ("pymc", "statsmodels", "jieba", "optuna", "psycopg", "postgres"):
        assert heavy not in base


def test_clv_takes_only_the_pymc_marketing_releases_it_was_tested_with() -> None:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    (spec,) = [Requirement(r) for r in OPTIONAL["clv"] if r.startswith("pymc-marketing")]
    assert "0.19.2" in spec.specifier
    assert "1.3.0" not in spec.specifier  # 1.x changed the models' constructor (data=)
    try:
        installed = version("pymc-marketing")
    except PackageNotFoundError:
        return
    assert installed in spec.specifier


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_require_names_the_extra_to_install_when_its_module_is_missing(
        monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    module = EXTRAS[extra][0][0]
    hide(monkeypatch, module)
    with pytest.raises(MissingExtra) as caught:
        require(module, extra)
    message = str(caught.value)
    assert "\n" not in message
    assert f"pip install 'tailored[{extra}]'" in message
    assert f"{module} is not installed" in message
    assert isinstance(caught.value, TailoredError) and isinstance(caught.value, ImportError)
    assert caught.value.status == 501
    assert not available(extra)
    assert extra not in installed_extras()


def test_require_of_a_submodule_names_the_missing_package(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "pymc_marketing")
    with pytest.raises(MissingExtra, match=r"pymc_marketing(\.clv)? is not installed\): pip "
                       r"install 'tailored\[clv\]'"):
        require("pymc_marketing.clv", "clv")


def test_require_shows_what_a_broken_install_lacks(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "half_installed.py").write_text("import not_there_at_all_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtra, match="half_installed cannot be imported: No module "
                       "named 'not_there_at_all_xyz'"):
        require("half_installed", "zh")


def test_require_returns_the_module_and_refuses_an_unknown_extra() -> None:
    assert require("json", "zh") is json
    with pytest.raises(ValueError, match="unknown extra 'nope'"):
        require("json", "nope")


# What each command needs, run as a user would (a subprocess), with the module hidden.
EVENTS = [
    {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"},
     "timestamp": "2026-01-05T10:00:00Z", "messageId": "x-1"},
    {"type": "track", "event": "Order Completed", "userId": "u1",
     "timestamp": "2026-01-06T10:00:00Z", "messageId": "x-2",
     "properties": {"order_id": "o1", "products": [{"product_id": "p1", "price": 5}]}},
    {"type": "track", "event": "Product Reviewed", "userId": "u1",
     "timestamp": "2026-01-07T10:00:00Z", "messageId": "x-3",
     "properties": {"product_id": "p1", "review_body": "质量很好，物流也快", "rating": 5}},
]
COMMANDS = [
    ("pymc_marketing", "clv", ["predict", "clv", "--calibration-end", "2026-01-06"]),
    ("jieba", "zh", ["analyze", "words", "--kind", "review"]),
    ("statsmodels", "forecast", ["analyze", "timeseries"]),
    ("optuna", "auto", ["train", "--model", "auto"]),
    ("psycopg", "postgres", ["--db", "postgresql://nobody@127.0.0.1:5432/nowhere", "stats"]),
]


def _run(args: list[str], hidden: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    hiding = "" if hidden is None else (
        f"sys.modules[{hidden!r}] = None; ")
    code = f"import sys; {hiding}from tailored.cli.app import main; sys.argv = ['tailored', " \
           f"*{args!r}]; main()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    env.update(NO_COLOR="1", PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("extras")
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    done = _run(["--db", f"sqlite:///{folder / 'shop.db'}", "ingest", "events.jsonl"], None,
                folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.parametrize(("hidden", "extra", "args"), COMMANDS, ids=[c[1] for c in COMMANDS])
def test_a_command_whose_extra_is_missing_says_which_to_install(
        small_store: Path, hidden: str, extra: str, args: list[str]) -> None:
    if args[0] != "--db":
        args = ["--db", f"sqlite:///{small_store / 'shop.db'}", *args]
    done = _run(args, hidden, small_store)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pip install 'tailored[{extra}]'" in lines[0]
    assert done.stdout == ""
