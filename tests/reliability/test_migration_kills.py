"""SIGKILL during a migration: the registry is then either the old schema or the new one,
never between, and the next open finishes the upgrade with nothing lost.

The child process opens a schema-1 registry (tests/fixtures/registry_v1) and kills itself
from SQLite's trace callback at statement N: 20 points spread over the ~80 statements of
the upgrade, first and last included (each point costs a process start).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbmodels import Registry
from nbmodels.store import SCHEMA_VERSION

FIXTURE_V1 = Path(__file__).parent.parent / "fixtures" / "registry_v1"

CHILD = textwrap.dedent("""
    import os, signal, sys
    import nbmodels.store as store

    kill_at, seen = int(sys.argv[2]), [0]
    real_connect = store._connect

    def traced(*args, **kwargs):
        conn = real_connect(*args, **kwargs)

        def trace(statement):
            seen[0] += 1
            if seen[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        conn.set_trace_callback(trace)
        return conn

    store._connect = traced
    from nbmodels import Registry
    Registry(sys.argv[1]).models()
    print(seen[0])
""")


def _open_in_child(home: Path, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, str(home), str(kill_at)],
                          capture_output=True, text=True, timeout=120)


def _statements_of_an_upgrade(tmp_path: Path) -> int:
    home = tmp_path / "count"
    shutil.copytree(FIXTURE_V1, home)
    done = _open_in_child(home, 0)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


KILL_POINTS = 20


@pytest.mark.slow
def test_sigkill_at_many_statements_of_a_migration_loses_nothing(tmp_path):
    total = _statements_of_an_upgrade(tmp_path)
    assert total > KILL_POINTS  # the upgrade really runs statements to kill at
    points = sorted({1 + round(i * (total - 1) / (KILL_POINTS - 1)) for i in range(KILL_POINTS)})
    killed = 0
    for kill_at in points:
        home = tmp_path / f"kill-{kill_at}"
        shutil.copytree(FIXTURE_V1, home)
        child = _open_in_child(home, kill_at)
        killed += child.returncode == -signal.SIGKILL
        registry = Registry(home)
        assert registry.store.schema_version == SCHEMA_VERSION
        assert registry.get("legacy@production").version == "1.0.0"
        assert registry.run("01JD3F0000000000000000V1RN").metrics == {"accuracy": 0.9}
        assert list(registry.history("legacy")["to_stage"]) == ["production"]
        assert registry.load("legacy") == {"kind": "threshold-model", "threshold": 0.5}
        assert registry.verify().ok
    assert killed == len(points)  # each point was reached and killed the upgrade
