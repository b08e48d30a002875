"""`nbmodels backup DEST` / `Registry.backup(dest)`: a consistent copy, taken while kernels
write, that opens, verifies clean and holds every object its database refers to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from nbmodels import ConflictError, InvalidInputError, NotFoundError, Registry
from nbmodels.cli import main

from .helpers import record_fit


def fit(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c).fit([[0], [1]], [0, 1])


@pytest.fixture
def filled(registry):
    """Two tracked runs, each registered as a version of `clf`, one in production."""
    for c in (1.0, 2.0):
        registry.register(record_fit(registry, fit(c), f"model = fit({c})", accuracy=c / 3),
                          "clf")
    registry.set_stage("clf@1.0.0", "production", note="first")
    return registry


def assert_complete(home) -> Registry:
    """`home` opens, verifies clean (database and objects), and every run and version in
    its database has its objects there, hash-checked."""
    copy = Registry(home)
    report = copy.verify()
    assert report.ok, report.damage
    for run in copy.list_runs():
        for variable in copy.run(run.id).variables:
            if variable.object_hash:
                assert copy.objects.check(variable.object_hash)
    for model in copy.list_models():
        for version in copy.list_versions(model.name):
            assert copy.objects.check(version.object_hash)
    return copy


def test_backup_copies_runs_versions_history_and_objects(filled, tmp_path):
    report = filled.backup(tmp_path / "copy")
    assert (report.runs, report.versions, report.objects, report.ok) == (2, 2, 2, True)
    copy = assert_complete(tmp_path / "copy")
    assert [v.version for v in copy.list_versions("clf")] == ["1.0.0", "1.1.0"]
    assert [(t.to_stage, t.note) for t in copy.transitions("clf")] == [("production", "first")]
    assert copy.load("clf@1.1.0").C == 2.0
    assert copy.runs()["metrics.accuracy"].tolist() == filled.runs()["metrics.accuracy"].tolist()
    copy.close()


def test_backup_objects_follow_the_source_permissions(filled, tmp_path):
    filled.backup(tmp_path / "copy")
    version = filled.get("clf@1.0.0")
    source = filled.objects.path(version.object_hash).stat()
    copied = (tmp_path / "copy" / "objects" / version.object_hash[:2] /
              version.object_hash[2:]).stat()
    assert copied.st_mode == source.st_mode and copied.st_ino != source.st_ino


def test_backup_link_hard_links_the_objects(filled, tmp_path):
    filled.backup(tmp_path / "copy", link=True)
    digest = filled.get("clf@1.0.0").object_hash
    copied = tmp_path / "copy" / "objects" / digest[:2] / digest[2:]
    assert copied.stat().st_ino == filled.objects.path(digest).stat().st_ino
    assert_complete(tmp_path / "copy").close()


def test_backup_cli_prints_what_it_copied(filled, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("backed up 2 runs, 2 versions and 2 objects")
    assert main(["backup", str(tmp_path / "again"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["runs"] == 2 and report["damage"] == []


@pytest.mark.parametrize("where, error", [("inside", InvalidInputError),
                                          ("non-empty", ConflictError), ("file", ConflictError)])
def test_backup_refuses_a_destination_it_would_spoil(filled, tmp_path, capsys, where, error):
    dest = {"inside": filled.home / "copy", "non-empty": tmp_path / "full",
            "file": tmp_path / "a-file"}[where]
    if where == "non-empty":
        dest.mkdir()
        (dest / "keep.txt").write_text("mine")
    if where == "file":
        dest.write_text("mine")
    with pytest.raises(error):
        filled.backup(dest)
    assert main(["backup", str(dest)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "backup destination" in err
    if where == "non-empty":
        assert os.listdir(dest) == ["keep.txt"]
    if where == "file":
        assert dest.read_text() == "mine"


def test_backup_of_no_registry_is_one_line(tmp_path, capsys):
    with pytest.raises(NotFoundError):
        Registry(tmp_path / "none").backup(tmp_path / "copy")
    assert main(["--home", str(tmp_path / "none"), "backup", str(tmp_path / "copy")]) == 1
    assert "nothing to back up" in capsys.readouterr().err
    assert not (tmp_path / "copy").exists()


def test_backup_names_a_damaged_object_and_does_not_copy_it(filled, tmp_path, capsys):
    digest = filled.get("clf@1.1.0").object_hash
    path = filled.objects.path(digest)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    assert main(["backup", str(tmp_path / "copy")]) == 2
    out = capsys.readouterr().out
    assert "1 objects not copied" in out and f"object-corrupt: {digest}" in out
    assert not (tmp_path / "copy" / "objects" / digest[:2] / digest[2:]).exists()
    report = Registry(tmp_path / "copy").verify()
    assert [d.what for d in report.damage if d.kind == "object-missing"] == [digest]


WRITER = textwrap.dedent("""
    import os, sys
    from datetime import datetime, timezone
    from sklearn.linear_model import LogisticRegression
    from nbmodels.registry import CellRecord, Registry

    home, stop = sys.argv[1], sys.argv[2]
    registry = Registry(home)
    i = 0
    while not os.path.exists(stop):
        i += 1
        model = LogisticRegression(C=float(i)).fit([[0], [1], [2]], [0, 1, 1])
        now = datetime.now(timezone.utc)
        registry.record_run(CellRecord(
            source=f"model = fit({i})", experiment="writer", status="ok", started_at=now,
            ended_at=now, values={"model": model, "accuracy": i / 1000,
                                  "data": list(range(i))}))
        if i % 3 == 0:
            registry.register(model, "clf")
    print(i)
""")


@pytest.mark.slow
def test_backup_while_a_writer_records_runs_is_consistent(registry_home, tmp_path):
    """Given a process recording runs (and registering every third) as fast as it can,
    three backups taken meanwhile each open, verify clean, and hold every object of every
    run and version in their database; each run and version in a backup is whole (equal to
    the registry's), never half written."""
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(registry_home), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        source = Registry(registry_home)
        while source.count_runs() < 10:
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(0.05)
        reports = [source.backup(tmp_path / f"copy{n}") for n in range(3)]
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    written = int(out)
    assert all(report.ok for report in reports)
    assert source.count_runs() == written
    for n, report in enumerate(reports):
        copy = assert_complete(tmp_path / f"copy{n}")
        runs = copy.list_runs()
        assert report.runs == len(runs) >= 10
        for run in runs:
            assert copy.run(run.id).to_dict() == source.run(run.id).to_dict()
        for version in copy.list_versions("clf") if report.versions else ():
            assert version.to_dict() == source.get(version.ref).to_dict()
        assert copy.store.integrity_problems() == []
        copy.close()
    source.close()
