"""Hostile and broken objects: nothing stored runs before its hash matched, nothing is read
outside `objects/`, read-only commands never deserialize, and one bad value fails alone."""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading

import pytest

from nbmodels import IntegrityError
from nbmodels.cli import main as cli

from .workers import record


def _marker_pickle(marker) -> bytes:
    """A pickle that, when unpickled, creates the file `marker`."""
    return (b"cbuiltins\nexec\n(V" + f"open({str(marker)!r}, 'w').close()".encode() + b"\ntR.")


@pytest.fixture
def two_versions(registry, breast_cancer):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = breast_cancer
    record(registry, {"clf": DecisionTreeClassifier(max_depth=2, random_state=0)
                      .fit(X_train, y_train)})
    first = registry.register(registry.load(registry.last_run().id), "cancer")
    second = registry.register(LogisticRegression(max_iter=5000).fit(X_train, y_train), "cancer")
    return registry, first, second


def test_a_tampered_version_never_runs_its_pickle(two_versions, tmp_path):
    registry, first, _ = two_versions
    marker = tmp_path / "pwned"
    path = registry.objects.path(first.object_hash)
    path.write_bytes(_marker_pickle(marker))
    with pytest.raises(IntegrityError) as refused:
        registry.load(first.ref)
    assert not marker.exists(), "the tampered pickle ran before the hash check"
    assert "nothing of it was loaded" in str(refused.value)
    report = registry.verify()
    assert [d.kind for d in report.damage] == ["object-corrupt"]
    assert not marker.exists()


def _plant_version(registry, name: str, object_hash: str) -> None:
    """A version row whose object name was written by someone else into registry.db."""
    db = sqlite3.connect(registry.store.path)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("INSERT INTO objects (hash, size, serializer, created_at) VALUES (?, 1, "
               "'pickle5', '2024-01-01')", [object_hash])
    db.execute("INSERT INTO models (name, created_at, updated_at) VALUES (?, 'x', 'x')", [name])
    db.execute("INSERT INTO versions (name, version, major, minor, patch, object_hash, "
               "model_type, size, created_at, bump, bump_reason) VALUES "
               "(?, '1.0.0', 1, 0, 0, ?, 'x', 1, 'x', 'initial', 'x')", [name, object_hash])
    db.commit()
    db.close()


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "..x/../../planted", "AB" * 32])
def test_an_object_name_from_the_database_is_never_followed_outside_objects(
        two_versions, tmp_path, name, capsys):
    import os

    registry, _, _ = two_versions
    marker = tmp_path / "pwned"
    # where joining the name onto objects/ leads; a pickle is planted there when that is
    # inside this test's folder (the other names lead elsewhere on the machine)
    target = os.path.normpath(registry.objects.root / name[:2] / name[2:])
    planted = target.startswith(str(tmp_path)) and not target.startswith(
        str(registry.objects.root))
    if planted:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as file:
            file.write(_marker_pickle(marker))
    _plant_version(registry, "evil", name)
    with pytest.raises(IntegrityError, match="not a 64-character hex hash"):
        registry.load("evil@1.0.0")
    assert {d.kind for d in registry.verify().damage} == {"object-name-invalid"}
    registry.gc(dry_run=False)
    assert cli(["verify"]) == 2
    assert "object-name-invalid" in capsys.readouterr().out
    assert not marker.exists()
    assert not planted or os.path.exists(target)


def _forbid_deserializing(monkeypatch):
    import joblib

    def refuse(*args, **kwargs):
        raise AssertionError("a read-only command deserialized an object")

    for module, name in ((pickle, "loads"), (pickle, "load"), (pickle, "Unpickler"),
                         (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)


def test_read_only_commands_never_deserialize(two_versions, monkeypatch, capsys):
    registry, first, second = two_versions
    run_id = registry.last_run().id
    _forbid_deserializing(monkeypatch)
    comparison = registry.compare(first.ref, second.ref)
    assert len(comparison.importance) > 0 and not comparison.warnings
    assert comparison.to_dict()["importance"]
    for argv in (["diff", first.ref, second.ref, "--json"], ["diff", first.ref, second.ref],
                 ["show", first.ref], ["show", run_id, "--json"], ["runs"], ["models"],
                 ["versions", "cancer"], ["history", "cancer"], ["verify"], ["gc", "--dry-run"],
                 ["gc"]):
        assert cli(argv) == 0, (argv, capsys.readouterr().err)
    diff = json.loads(_json_output(capsys, ["diff", first.ref, second.ref, "--json"]))
    assert {row["feature"] for row in diff["importance"]} >= {"mean radius"}
    registry.runs(), registry.models(), registry.versions("cancer"), registry.compare("cancer")


def _json_output(capsys, argv) -> str:
    capsys.readouterr()
    assert cli(argv) == 0
    return capsys.readouterr().out


class _Raises:
    def __init__(self, error):
        self.error = error

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return X

    def __reduce__(self):
        raise self.error


class _Blocks(_Raises):
    def __init__(self):
        self.release = threading.Event()

    def __reduce__(self):
        self.release.wait(60)
        return (dict, ())


def test_values_that_fail_to_pickle_are_listed_and_the_run_is_recorded(registry):
    values = {"a": _Raises(RuntimeError("boom")), "b": _Raises(KeyError("k")),
              "c": _Raises(NotImplementedError("n")), "fine": {"weights": list(range(100))}}
    run = registry.run(record(registry, values))
    reasons = {v.name: v.reason for v in run.variables}
    assert "RuntimeError" in reasons["a"] and "KeyError" in reasons["b"]
    assert "NotImplementedError" in reasons["c"] and reasons["fine"] is None


def test_a_value_whose_pickling_blocks_costs_the_timeout_not_the_run(registry):
    registry.capture_timeout_s = 0.5
    blocked = _Blocks()
    try:
        run = registry.run(record(registry, {"stuck": blocked, "alpha": 0.1}))
    finally:
        blocked.release.set()
    assert "capture_timeout_s" in run.variable("stuck").reason
    assert run.params["alpha"] == 0.1 and registry.objects.temp_files() == []
