"""The database side: migrations from older registries, WAL, and two writers at once."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
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
