"""The database side: migrations from older registries, WAL, and two writers at once."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from nbmodels import Registry
from nbmodels.store import SCHEMA_VERSION, RegistryVersionError

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "registry_v1"


def test_schema_1_registry_opens_after_migration(tmp_path):
    home = tmp_path / "old"
    shutil.copytree(FIXTURE_V1, home)
    registry = Registry(home)
    assert registry.get("legacy@production").version == "1.0.0"
    assert registry.store.schema_version == SCHEMA_VERSION
    assert registry.load("legacy") == {"kind": "threshold-model", "threshold": 0.5}
    assert registry.run("01JD3F0000000000000000V1RN").metrics == {"accuracy": 0.9}
    assert list(registry.history("legacy")["to_stage"]) == ["production"]
    tables = set(registry.store.db.table_names())
    assert "data_objects" in tables  # what migration 2 added
    assert {"lineage", "remotes", "remote_keys"} <= tables  # migration 5
    registry.set_stage("legacy@1.0.0", "staging")
    uids = [r[0] for r in registry.store.rows("SELECT uid FROM transitions")]
    assert len(uids) == 2 and None not in uids and len(set(uids)) == 2  # old rows get one too
    registry.register({"kind": "threshold-model", "threshold": 0.6}, "legacy")
    # Schema 1 stored no facts to compare with, so only the bytes are known to differ.
    assert registry.get("legacy").version == "1.0.1" and registry.verify().ok


def test_newer_schema_is_refused_with_a_clear_message(tmp_path):
    home = tmp_path / "new"
    shutil.copytree(FIXTURE_V1, home)
    with sqlite3.connect(home / "registry.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(RegistryVersionError, match="upgrade nbmodels"):
        Registry(home).models()


def test_database_is_in_wal_mode_with_foreign_keys(registry):
    registry.register({"w": 1}, "m")
    db = registry.store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_opening_a_new_registry_another_process_is_still_creating_waits_for_it(tmp_path):
    """Two kernels opening a new registry at once: while one holds the file between creating
    it and switching it to WAL, SQLite refuses the other's switch at once ("database is
    locked", without its busy timeout); the second open waits it out instead of failing
    (seen as a CI flake of the backup-while-writing test)."""
    home = tmp_path / "new"
    home.mkdir()
    creator = sqlite3.connect(home / "registry.db", isolation_level=None,
                              check_same_thread=False)
    creator.execute("CREATE TABLE half_made(x)")
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("INSERT INTO half_made VALUES (1)")
    release = threading.Timer(0.3, creator.execute, ["COMMIT"])
    release.start()
    try:
        registry = Registry(home)
        registry.register({"w": 1}, "m")
    finally:
        release.join()
        creator.close()
    assert registry.store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert registry.load("m") == {"w": 1}
    assert registry.store.rows("SELECT x FROM half_made") == [(1,)]


WRITER = textwrap.dedent("""
    import sys
    from IPython.testing.globalipapp import start_ipython
    from nbmodels import Registry

    worker, home = sys.argv[1], sys.argv[2]
    shell = start_ipython()
    shell.run_line_magic("load_ext", "nbmodels")
    shell.run_line_magic("config", f"NBModels.home = {home!r}")
    for i in range(50):
        shell.run_cell_magic("track", f"worker{worker}", f"w = {worker}\\ni = {i}\\nscore = i / 100")
    registry = Registry(home)
    for i in range(10):
        registry.register({"worker": worker, "i": i}, "shared", note=f"{worker}-{i}")
    print("done")
""")


def test_two_processes_tracking_and_registering_at_once(tmp_path):
    home = tmp_path / "shared"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(n), str(home)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (1, 2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and out.strip().endswith("done"), err
        assert "locked" not in err and "could not record" not in err, err
    registry = Registry(home)
    runs = registry.runs()
    assert len(runs) == 100
    assert sorted(runs.groupby("experiment").size().tolist()) == [50, 50]
    versions = registry.versions("shared")
    assert len(versions) == 20 and versions["version"].is_unique
    assert registry.verify().ok


def test_registry_with_bare_nan_in_its_json_lists_after_opening(tmp_path):
    """Registries written before non-finite floats were encoded hold Python's bare `NaN` and
    `Infinity` tokens, which SQLite's JSON functions reject: opening one rewrites them."""
    import math

    home = tmp_path / "old"
    shutil.copytree(FIXTURE_V1, home)
    with sqlite3.connect(home / "registry.db") as conn:
        conn.execute("""UPDATE runs SET params = '{"threshold": 0.5, "missing": NaN}',
                        metrics = '{"accuracy": NaN, "val_loss": Infinity, "lo": -Infinity}'""")
        conn.execute("""UPDATE versions SET metrics = '{"accuracy": NaN}',
                        params = '{"missing": NaN}', facts = '{"params": {"missing": NaN}}'""")
        conn.execute("""UPDATE variables SET data = '{"stats": {"x": {"mean": NaN}}}'""")
    registry = Registry(home)
    runs = registry.runs(order_by="metrics.val_loss DESC", where={"params.threshold": 0.5})
    assert math.isnan(runs.loc[0, "params.missing"]) and math.isnan(runs.loc[0, "metrics.accuracy"])
    assert runs.loc[0, "metrics.val_loss"] == math.inf and runs.loc[0, "metrics.lo"] == -math.inf
    assert math.isnan(registry.versions("legacy").loc[0, "metrics.accuracy"])
    assert math.isnan(registry.models().loc[0, "key_metric_value"])
    assert math.isnan(registry.run("01JD3F0000000000000000V1RN").variables[0].data["stats"]["x"]["mean"])
    with sqlite3.connect(home / "registry.db") as conn:
        for table, column in [("runs", "params"), ("runs", "metrics"), ("versions", "metrics"),
                              ("versions", "facts"), ("variables", "data")]:
            assert conn.execute(f"SELECT min(json_valid({column})) FROM {table} "
                                f"WHERE {column} IS NOT NULL").fetchone() == (1,), (table, column)


def test_non_finite_floats_are_stored_as_json_sqlite_reads():
    import math

    from nbmodels.store import decode_json, encode_json

    value = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "list": [math.nan, 1.5],
             "text": "NaN and -Infinity stay text", "none": None}
    text = encode_json(value)
    assert "NaN," not in text and "Infinity," not in text
    assert sqlite3.connect(":memory:").execute("SELECT json_valid(?)", [text]).fetchone() == (1,)
    back = decode_json(text)
    assert math.isnan(back["nan"]) and math.isnan(back["list"][0]) and back["list"][1] == 1.5
    assert back["inf"] == math.inf and back["ninf"] == -math.inf and back["none"] is None
    assert back["text"] == value["text"]
