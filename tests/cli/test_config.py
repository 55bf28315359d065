"""Settings from options, the environment and tailored.toml; ``tailored config``; the docs
table of settings; ``--version``; shell completion."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored import __version__
from tailored.cli.app import app
from tailored.config import Settings
from tailored.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("TAILORED_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def config_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*args, "config", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_setting_has_a_row_in_docs_configuration() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        row = f"| `{name}` | `TAILORED_{name.upper()}` |"
        assert row in doc, f"docs/configuration.md has no row for the setting {name}"


def test_config_json_lists_every_setting_with_default_source_and_env() -> None:
    data = config_json()
    assert set(data["settings"]) == set(Settings.model_fields)
    assert data["config_file"] is None and data["version"] == __version__
    for name, row in data["settings"].items():
        assert row["source"] == "default"
        assert row["env"] == f"TAILORED_{name.upper()}"
        assert row["description"], f"{name} has no description"
    assert data["settings"]["database_url"]["value"] == "sqlite:///tailored.db"


def test_settings_file_in_the_current_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "tailored.toml").write_text(
        'database_url = "sqlite:///shop.db"\ningest_chunk_size = 123\nmodels_dir = "m"\n')
    data = config_json()
    rows = data["settings"]
    assert data["config_file"] == str((tmp_path / "tailored.toml").resolve())
    assert rows["ingest_chunk_size"] == {**rows["ingest_chunk_size"], "value": 123,
                                         "source": "file"}
    # Relative paths are the file's folder's.
    assert rows["database_url"]["value"] == f"sqlite:///{tmp_path.resolve() / 'shop.db'}"
    assert rows["models_dir"]["value"] == str(tmp_path.resolve() / "m")


def test_tailored_config_names_a_file_read_from_any_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "etc" / "shop.toml"
    conf.parent.mkdir()
    conf.write_text('database_url = "sqlite:///data/shop.db"\ndefault_model = "ease"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = config_json(env={"TAILORED_CONFIG": str(conf)})
    assert data["settings"]["database_url"]["value"] == (
        f"sqlite:///{conf.parent.resolve() / 'data' / 'shop.db'}")
    assert data["settings"]["default_model"]["source"] == "file"


def test_environment_beats_the_file_and_the_option_beats_both(tmp_path: Path) -> None:
    (tmp_path / "tailored.toml").write_text(
        'database_url = "sqlite:///file.db"\ningest_chunk_size = 5\n')
    env = {"TAILORED_INGEST_CHUNK_SIZE": "7", "TAILORED_DATABASE_URL": "sqlite:///env.db"}
    rows = config_json(env=env)["settings"]
    assert (rows["ingest_chunk_size"]["value"], rows["ingest_chunk_size"]["source"]) == (7, "env")
    assert (rows["database_url"]["value"], rows["database_url"]["source"]) == (
        "sqlite:///env.db", "env")
    rows = config_json("--db", "sqlite:///option.db", env=env)["settings"]
    assert (rows["database_url"]["value"], rows["database_url"]["source"]) == (
        "sqlite:///option.db", "option")


def test_the_settings_file_is_used_by_commands(tmp_path: Path) -> None:
    (tmp_path / "tailored.toml").write_text('database_url = "sqlite:///from-file.db"\n')
    (tmp_path / "e.jsonl").write_text(json.dumps(
        {"type": "track", "event": "X", "userId": "u", "messageId": "m1",
         "timestamp": "2026-01-01T00:00:00Z"}) + "\n")
    result = CliRunner().invoke(app, ["ingest", "e.jsonl", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-file.db").exists() and not (tmp_path / "tailored.db").exists()


def test_passwords_are_hidden_in_config() -> None:
    rows = config_json(env={"TAILORED_ANALYTICS_URL": "postgresql://ann:s3cret@db/x"})[
        "settings"]
    assert "s3cret" not in json.dumps(rows)
    assert rows["analytics_url"]["value"] == "postgresql://ann:***@db/x"


def test_an_unknown_setting_in_the_file_is_named_with_the_closest(tmp_path: Path) -> None:
    (tmp_path / "tailored.toml").write_text('databse_url = "sqlite:///x.db"\n')
    result = CliRunner().invoke(app, ["config", "--json"])
    assert isinstance(result.exception, InvalidInput)
    assert re.search(r"tailored.toml: unknown setting 'databse_url'; did you mean "
                     r"database_url( or \w+)*\?", str(result.exception))


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    full.update(env or {}, NO_COLOR="1", PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "tailored", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("files", "env", "expected"), [
    ({"tailored.toml": "database_url = \n"}, {}, "tailored.toml is not valid TOML"),
    ({}, {"TAILORED_CONFIG": "nowhere.toml"}, "TAILORED_CONFIG names nowhere.toml, which is "
     "not a file"),
    ({}, {"TAILORED_INGEST_CHUNK_SIZE": "abc"}, "setting ingest_chunk_size "
     "(TAILORED_INGEST_CHUNK_SIZE or tailored.toml): Input should be a valid integer"),
    ({"tailored.toml": "ingest_chunk_size = 0\n"}, {}, "setting ingest_chunk_size"),
], ids=["bad-toml", "missing-file", "bad-env-value", "bad-file-value"])
def test_bad_settings_are_one_line_naming_them(
        tmp_path: Path, files: dict[str, str], env: dict[str, str], expected: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    done = _cli("config", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert expected in done.stderr


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    done = _cli("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"tailored {__version__}"


def test_shell_completion_script_and_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shell is named, not guessed from the parent processes (a test run from a daemon
    # has no shell above it, and Typer then says "Shell not supported").
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    script = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="tailored")
    assert script.exit_code == 0, (script.output, script.exception)
    assert "complete -o default -F _tailored_completion tailored" in script.output
    done = CliRunner().invoke(app, [], prog_name="tailored", env={
        "_TAILORED_COMPLETE": "complete_bash", "COMP_WORDS": "tailored con", "COMP_CWORD": "1"})
    assert "config" in done.output.split()
