"""SIGKILL at many points of a large save: the registry verifies clean, nothing committed
before (or reported committed by the killed process) is lost, and `gc` reports the temp
files a killed save left (kept while young, removed once old).

The points are exact (the process kills itself there: mid-write, before and after the
rename, inside each transaction, while re-serializing for the registration) and timed (the
parent kills it at fractions of a whole save's duration).

The registry lives in memory (/dev/shm) when the machine has it: a SIGKILL loses what the
process had not written, never what the kernel's page cache holds, so a RAM-backed folder
tests the same thing without waiting for 200 MB fsyncs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from nbmodels import Registry

from .workers import KILL_POINTS, Blob, record

MB = 200  # MiB of weights per save (210 MB)
ROOT = Path(__file__).resolve().parents[2]
# when to kill, as a fraction of how long one save (a run, then its registration) takes
KILL_FRACTIONS = (0.3, 0.7)


def _start(home: Path, seed: int, kill_at: str | None = None) -> subprocess.Popen:
    code = ("from tests.reliability.workers import save_big; "
            f"save_big({str(home)!r}, {seed}, {MB}, {kill_at!r})")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _committed(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines if line.startswith(("recorded", "registered"))]


def _assert_intact(registry: Registry, refs: list[str]) -> None:
    report = registry.verify()
    assert report.ok, report.damage
    for ref in refs:
        target = registry.resolve(ref)
        hashes = ([target.object_hash] if hasattr(target, "object_hash")
                  else [v.object_hash for v in target.variables if v.object_hash])
        assert hashes and all(registry.objects.check(h) for h in hashes), f"{ref} lost"


@pytest.fixture
def memory_home(tmp_path):
    memory = Path("/dev/shm")
    if not (memory.is_dir() and os.access(memory, os.W_OK)):
        yield tmp_path / "registry"
        return
    folder = Path(tempfile.mkdtemp(prefix="nbmodels-kills-", dir=memory))
    try:
        yield folder / "registry"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_sigkill_anywhere_in_a_large_save_loses_nothing_committed(memory_home):
    registry_home = memory_home
    registry = Registry(registry_home)
    committed = [record(registry, {"model": Blob(1)})]
    committed.append(registry.register(Blob(2), "small").ref)

    full = _start(registry_home, seed=0)  # one save to the end, to know how long one takes
    assert full.stdout.readline().strip() == "saving"
    started = time.monotonic()
    lines = full.communicate(timeout=300)[0].splitlines()
    duration = time.monotonic() - started
    assert full.returncode == 0 and len(_committed(lines)) == 2
    committed += _committed(lines)

    outcomes = {}  # kill point -> how many steps the killed save committed (0, 1 or 2)
    kills = [(point, None) for point in KILL_POINTS] + [(None, f) for f in KILL_FRACTIONS]
    for n, (point, fraction) in enumerate(kills, start=1):
        child = _start(registry_home, seed=n, kill_at=point)
        assert child.stdout.readline().strip() == "saving"
        if fraction is not None:
            time.sleep(duration * fraction)
            child.send_signal(signal.SIGKILL)
        lines = child.communicate(timeout=300)[0].splitlines()
        assert child.returncode == -signal.SIGKILL, (point, fraction, lines)
        committed += _committed(lines)
        outcomes[point or f"at {fraction:.0%}"] = len(_committed(lines))
        _assert_intact(registry, committed)
        temps = registry.objects.temp_files()
        report = registry.gc(dry_run=False)
        assert report.kept_temp_files == len(temps)  # young: kept, and counted
        assert report.kept_temp_bytes == sum(p.stat().st_size for p in temps)
        if temps:
            assert "temp file" in report.lines()[1] and "0 temp" not in report.lines()[1]
        if point == "after-rename":  # a whole object no row points at: young, so kept
            assert report.kept_objects >= 1 and "unreferenced object" in report.lines()[-1]

    leftovers = registry.objects.temp_files() + [registry.objects.path(h)
                                                 for h in registry.objects.hashes()]
    for path in leftovers:  # an hour later
        os.utime(path, (0, 0))
    report = registry.gc(dry_run=False)
    assert report.kept_temp_files == report.kept_objects == 0
    assert registry.objects.temp_files() == [] and report.objects
    _assert_intact(registry, committed)
    print(f"steps committed by each killed save: {outcomes}")
    registry.close()
