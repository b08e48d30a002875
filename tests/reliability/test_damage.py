"""Damage to a real `registry.db`, made by writing bytes into it: `verify` finds it (SQLite's
full integrity check), exits 2 and names `registry.db`; every other surface (CLI, Registry
API, magics) says in one line that the database is damaged and what to do, never a
`sqlite3.DatabaseError` traceback. A damaged object is named with the versions and runs
it affects.
"""

from __future__ import annotations

import random
import shutil
import sqlite3

import pytest
from IPython.core.error import UsageError

from nbmodels import DatabaseDamagedError, Registry
from nbmodels.cli import main

from ..helpers import record_fit

PAGE = 4096


def damage(db, kind: str) -> None:
    """Write damage of `kind` into the database file `db` (closed, no WAL left)."""
    size = db.stat().st_size
    pages = size // PAGE
    with open(db, "r+b") as file:
        if kind == "truncated":
            file.truncate(size // 2)
        elif kind == "zeroed-header":
            file.write(b"\0" * 100)
        elif kind == "garbage-middle":
            file.seek(pages // 2 * PAGE)
            file.write(random.Random(0).randbytes(PAGE))
        elif kind == "low-page":  # page 2: a table no listing reads (the migrations log)
            file.seek(PAGE)
            file.write(random.Random(1).randbytes(PAGE))
        else:
            raise ValueError(kind)


KINDS = ["truncated", "zeroed-header", "garbage-middle", "low-page"]
# damage SQLite meets on opening: every surface fails; the others fail where they read it
FATAL = {"truncated", "zeroed-header"}


@pytest.fixture(scope="module")
def sound_registry(tmp_path_factory):
    """A registry of 30 tracked runs, each registered as a version of `clf` (about 100
    pages of 4 KiB), closed cleanly (no WAL file)."""
    from sklearn.linear_model import LogisticRegression

    home = tmp_path_factory.mktemp("sound") / ".nbmodels"
    registry = Registry(home)
    for i in range(30):
        model = record_fit(registry, LogisticRegression(C=1.0 + i).fit([[0], [1]], [0, 1]),
                           f"model = LogisticRegression(C={1 + i}).fit(X, y)\n" + "#" * 2000,
                           accuracy=0.5 + i / 100)
        registry.register(model, "clf")
    registry.close()
    assert not (home / "registry.db-wal").exists()
    return home


@pytest.fixture(params=KINDS)
def damaged(request, sound_registry, tmp_path):
    home = tmp_path / "damaged" / ".nbmodels"
    shutil.copytree(sound_registry, home)
    damage(home / "registry.db", request.param)
    return request.param, home


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_low_page_damage_is_one_no_listing_reads(sound_registry, tmp_path):
    """The low-page case is the one a check by queries misses: listings still work."""
    home = tmp_path / "low" / ".nbmodels"
    shutil.copytree(sound_registry, home)
    damage(home / "registry.db", "low-page")
    registry = Registry(home)
    try:
        assert len(registry.list_runs()) == 30
        assert len(registry.list_versions("clf")) == 30
    finally:
        registry.close()


def test_verify_finds_the_damage_exits_2_and_names_registry_db(damaged, capsys):
    kind, home = damaged
    code, out, err = cli(capsys, "--home", str(home), "verify")
    assert code == 2, (kind, out, err)
    assert "registry.db" in out and "damaged" in out and "backup" in out
    assert err == ""
    report = Registry(home).verify()
    assert [d.kind for d in report.damage][:1] == ["database"]
    assert report.damage[0].what == "registry.db"


def test_verify_json_reports_the_database(damaged, capsys):
    import json

    _, home = damaged
    code, out, _ = cli(capsys, "--home", str(home), "verify", "--json")
    report = json.loads(out)
    assert code == 2 and report["ok"] is False
    assert report["damage"][0]["kind"] == "database"


READ_COMMANDS = [["runs"], ["models"], ["versions", "clf"], ["show", "clf@1.0.0"],
                 ["show", "clf@latest"], ["history", "clf"], ["diff", "clf@1.0.0", "clf@1.1.0"],
                 ["runs", "--json"], ["gc", "--dry-run"]]
WRITE_COMMANDS = [["stage", "clf@1.0.0", "production", "--note", "x"], ["gc"]]


@pytest.mark.parametrize("argv", READ_COMMANDS + WRITE_COMMANDS, ids=" ".join)
def test_every_command_says_damaged_in_one_line(damaged, capsys, argv):
    """Each command works (on the pages it reads that are sound) or exits 1 with one line
    that says the database is damaged and to run `nbmodels verify` / restore a backup."""
    kind, home = damaged
    code, _, err = cli(capsys, "--home", str(home), *argv)
    if kind in FATAL:
        assert code == 1
    assert code in (0, 1)
    if code == 1:
        assert len(err.strip().splitlines()) == 1, err
        assert "is damaged" in err and "nbmodels verify" in err and "backup" in err
        assert "Traceback" not in err and "sqlite3" not in err


def test_every_registry_method_raises_database_damaged_error(damaged):
    """Given damage SQLite meets on opening, every API call raises `DatabaseDamagedError`
    (an `NbModelsError`), never `sqlite3.DatabaseError`."""
    kind, home = damaged
    registry = Registry(home)
    calls = [lambda: registry.runs(), lambda: registry.list_runs(), lambda: registry.models(),
             lambda: registry.versions("clf"), lambda: registry.get("clf@1.0.0"),
             lambda: registry.load("clf@1.0.0"), lambda: registry.history("clf"),
             lambda: registry.compare("clf@1.0.0", "clf@1.1.0"),
             lambda: registry.set_stage("clf@1.0.0", "staging"), lambda: registry.gc(),
             lambda: registry.register(object(), "other"), lambda: registry.last_run()]
    failures = 0
    for call in calls:
        try:
            call()
        except DatabaseDamagedError as exc:
            failures += 1
            assert "nbmodels verify" in str(exc) and "\n" not in str(exc)
        except sqlite3.Error as exc:  # pragma: no cover - the bug this test guards against
            pytest.fail(f"raw SQLite error from the API: {exc!r}")
    if kind in FATAL:
        assert failures == len(calls)
    registry.close()


def test_magics_say_damaged_as_a_usage_error(damaged, shell):
    kind, home = damaged
    shell.run_line_magic("config", f"NBModels.home = {str(home)!r}")
    for line in ["stage clf@1.0.0 staging", "restore clf@1.0.0"]:
        magic, _, rest = line.partition(" ")
        try:
            shell.run_line_magic(magic, rest)
        except UsageError as exc:
            assert "is damaged" in str(exc) and "nbmodels verify" in str(exc)
        else:
            assert kind not in FATAL


def test_a_restored_backup_verifies_clean(sound_registry, tmp_path, capsys):
    """The way back: a backup taken before the damage replaces the damaged folder."""
    home = tmp_path / "work" / ".nbmodels"
    shutil.copytree(sound_registry, home)
    assert cli(capsys, "--home", str(home), "backup", str(tmp_path / "saved"))[0] == 0
    damage(home / "registry.db", "garbage-middle")
    assert cli(capsys, "--home", str(home), "verify")[0] == 2
    shutil.rmtree(home)
    shutil.copytree(tmp_path / "saved", home)
    code, out, _ = cli(capsys, "--home", str(home), "verify")
    assert code == 0 and out.rstrip().endswith("ok")
    assert len(Registry(home).list_versions("clf")) == 30


# ---- damaged objects name what they affect ---------------------------------------------------

def test_verify_names_the_versions_and_runs_a_damaged_object_affects(sound_registry, tmp_path,
                                                                     capsys):
    home = tmp_path / "objs" / ".nbmodels"
    shutil.copytree(sound_registry, home)
    registry = Registry(home)
    version = registry.get("clf@1.3.0")
    run_id = version.run_id
    path = registry.objects.path(version.object_hash)
    registry.close()
    path.chmod(0o644)
    with open(path, "r+b") as file:
        file.seek(10)
        file.write(b"\xff\xfe")
    code, out, _ = cli(capsys, "--home", str(home), "verify")
    assert code == 2
    [line] = [line for line in out.splitlines() if version.object_hash in line]
    assert "clf@1.3.0" in line and run_id in line
