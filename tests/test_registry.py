"""The Registry API on its own: model flavours, integrity, gc, verify, listings, refs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbmodels import (AmbiguousRefError, IntegrityError, InvalidInputError, NotFoundError,
                      Registry)
from nbmodels.errors import PackageVersionWarning
from tests.helpers import record_fit


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 90, 200).astype(float),
                          "income": rng.normal(50, 10, 200),
                          "city": rng.choice(["paris", "lyon", "nice"], 200)})
    target = (frame["income"] + rng.normal(0, 5, 200) > 50).astype(int)
    return frame, target


def _sklearn_pipeline(frame, target):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                                 ("cat", OneHotEncoder(), ["city"])])
    return Pipeline([("prep", columns), ("clf", LogisticRegression())]).fit(frame, target)


def _xgboost(frame, target):
    import xgboost

    return xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(frame[["age", "income"]], target)


def _lightgbm(frame, target):
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(frame[["age", "income"]], target)


def _predict(model, frame):
    if hasattr(model, "predict"):
        columns = ["age", "income"] if not hasattr(model, "named_steps") else frame.columns
        return model.predict(frame[list(columns)])
    import torch

    with torch.no_grad():
        return model(torch.tensor(frame[["age", "income"]].to_numpy(), dtype=torch.float32)).numpy()


def _torch(frame, target):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))


@pytest.mark.parametrize("build", [_sklearn_pipeline, _xgboost, _lightgbm, _torch])
def test_each_flavour_restores_with_identical_predictions(registry, tabular, build):
    frame, target = tabular
    model = record_fit(registry, build(frame, target), "model = ...")
    version = registry.register(model, "flavour")
    assert version.run_id is not None  # lineage found by the object's hash
    np.testing.assert_array_equal(_predict(registry.load("flavour@1.0.0"), frame),
                                  _predict(model, frame))


def test_signature_change_is_major_for_each_flavour(registry, tabular):
    frame, target = tabular
    import xgboost

    registry.register(xgboost.XGBClassifier(n_estimators=2).fit(frame[["age", "income"]], target),
                      "xgb")
    second = registry.register(xgboost.XGBClassifier(n_estimators=2).fit(frame[["age"]], target),
                               "xgb")
    assert second.version == "2.0.0" and "removed 'income'" in second.bump_reason


def test_model_class_change_is_major(registry, tabular):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    frame, target = tabular
    features = frame[["age", "income"]]
    registry.register(LogisticRegression().fit(features, target), "m")
    version = registry.register(DecisionTreeClassifier().fit(features, target), "m")
    assert version.bump == "major" and "model class changed" in version.bump_reason


def test_flipped_byte_is_refused_and_verify_names_the_object(registry, tabular):
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    version = registry.register(LogisticRegression().fit(frame[["age"]], target), "m")
    path = registry.objects.path(version.object_hash)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="integrity"):
        registry.load("m@1.0.0")
    report = registry.verify()
    assert not report.ok
    assert [(d.kind, d.what) for d in report.damage] == [("object-corrupt", version.object_hash)]


def test_missing_object_is_reported_by_verify(registry, tabular):
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    version = registry.register(LogisticRegression().fit(frame[["age"]], target), "m")
    registry.objects.path(version.object_hash).unlink()
    kinds = {d.kind for d in registry.verify().damage}
    assert kinds == {"object-missing"}
    with pytest.raises(IntegrityError):
        registry.load("m")


def test_gc_removes_only_unreferenced_old_objects(registry, tabular, monkeypatch):
    import os

    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    kept = registry.register(LogisticRegression().fit(frame[["age"]], target), "m")
    orphan = registry.objects.put({"stray": 1})
    stale_temp = registry.objects.temp_dir / "leftover.tmp"
    stale_temp.write_bytes(b"partial")
    for path in (registry.objects.path(orphan.hash), stale_temp,
                 registry.objects.path(kept.object_hash)):
        os.utime(path, (0, 0))
    report = registry.gc(dry_run=True)
    assert report.objects == (orphan.hash,) and report.temp_files == ("leftover.tmp",)
    assert registry.objects.exists(orphan.hash)  # dry run removes nothing
    registry.gc(dry_run=False)
    assert not registry.objects.exists(orphan.hash) and not stale_temp.exists()
    assert registry.load("m") is not None and registry.verify().ok


def test_gc_spares_young_objects_a_writer_may_be_about_to_commit(registry):
    young = registry.objects.put({"just": "written"})
    assert young.hash not in registry.gc(dry_run=False).objects
    assert registry.objects.exists(young.hash)


def test_same_data_in_many_runs_is_stored_once(registry):
    frame = pd.DataFrame({"x": np.arange(100_000, dtype=float)})
    for _ in range(5):
        record_fit(registry, None, "df = ...", df=frame)
    hashes = {v.object_hash for r in registry.list_runs() for v in registry.run(r.id).variables
              if v.name == "df"}
    assert len(hashes) == 1 and len(list(registry.objects.hashes())) == 1


def test_over_size_limit_is_listed_not_stored(registry):
    from datetime import datetime, timezone

    from nbmodels.registry import CellRecord

    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord("big = ...", "t", "ok", now, now,
                                         values={"big": list(range(100_000))}),
                              max_object_bytes=1000)
    assert run.variable("big").reason.startswith("over the size limit")
    assert list(registry.objects.hashes()) == []


def test_data_bound_and_read_by_one_cell_is_serialized_once(registry, monkeypatch):
    """`obj = big`: the variable and the input hold the same data; one object, one save."""
    from datetime import datetime, timezone

    from nbmodels.registry import CellRecord

    big = np.arange(50_000.0)
    saves = []
    real_write = registry.objects._write  # what `put` and `put_later` serialize with
    monkeypatch.setattr(registry.objects, "_write",
                        lambda *a, **k: saves.append(1) or real_write(*a, **k))
    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord("obj = big", "t", "ok", now, now, values={"obj": big},
                                         inputs={"big": big}))
    assert len(saves) == 1
    assert run.variable("obj").object_hash == run.inputs[0].object_hash
    assert np.array_equal(registry.load_variables(run.id)["obj"], big)


def test_listings_are_flat_dataframes(registry, tabular):
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    model = LogisticRegression(C=0.3).fit(frame[["age"]], target)
    record_fit(registry, model, "fit", accuracy=0.9)
    registry.register(model, "m", tags={"team": "risk"}, note="n1")
    runs = registry.runs()
    assert list(runs.columns[:9]) == ["id", "experiment", "status", "started_at", "ended_at",
                                      "duration_s", "user", "notebook", "note"]
    assert runs.loc[0, "params.C"] == 0.3 and runs.loc[0, "metrics.accuracy"] == 0.9
    versions = registry.versions("m")
    assert versions.loc[0, "tags.team"] == "risk" and versions.loc[0, "note"] == "n1"
    assert versions.loc[0, "metrics.accuracy"] == 0.9
    models = registry.models()
    assert models.loc[0, "name"] == "m" and models.loc[0, "latest_version"] == "1.0.0"
    assert models.loc[0, "key_metric"] == "accuracy"


def test_empty_registry_lists_without_creating_anything(registry, registry_home):
    assert registry.runs().empty and registry.models().empty
    assert not registry_home.exists()


def test_refs(registry, tabular):
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    for c in (1.0, 0.5, 0.1):
        registry.register(LogisticRegression(C=c).fit(frame[["age"]], target), "m")
    registry.set_stage("m@1.1.0", "staging")
    assert registry.get("m").version == "1.2.0" == registry.get("m@latest").version
    assert registry.get("m@staging").version == "1.1.0"
    with pytest.raises(NotFoundError, match="no version 'production'"):
        registry.get("m@production")
    with pytest.raises(NotFoundError, match="did you mean 'm'"):
        registry.get("mm")
    for bad in ("m@1.2", "m@prod", "bad name", "m@", ""):
        with pytest.raises(InvalidInputError):
            registry.get(bad)


def test_version_detail_has_its_run_and_only_its_own_stage_changes(registry, tabular):
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    model = record_fit(registry, LogisticRegression().fit(frame[["age"]], target), "fit")
    tracked = registry.register(model, "m")
    bare_ref = registry.register({"w": 1}, "m").ref  # a live object no tracked run bound
    registry.set_stage("m@1.0.0", "staging")
    registry.set_stage(bare_ref, "staging", note="other version")
    registry.set_stage("m@1.0.0", "production", note="ship")

    detail = registry.version_detail("m@1.0.0")
    assert detail.version == registry.get("m@1.0.0")
    assert detail.run is not None and detail.run.id == tracked.run_id
    assert [(t.version, t.from_stage, t.to_stage) for t in detail.history] == [
        ("1.0.0", "none", "staging"), ("1.0.0", "staging", "production")]  # oldest first

    bare = registry.version_detail("m@latest")
    assert bare.version.ref == bare_ref and bare.run is None
    assert [t.note for t in bare.history] == ["other version"]

    plain = detail.to_dict()  # nested records become dicts
    assert plain["version"]["ref"] == "m@1.0.0"
    assert plain["run"]["id"] == tracked.run_id and plain["run"]["source"] == "fit"
    assert [t["to_stage"] for t in plain["history"]] == ["staging", "production"]
    assert bare.to_dict()["run"] is None
    with pytest.raises(NotFoundError):
        registry.version_detail("m@9.9.9")


def test_run_prefix_must_be_unique(registry):
    for _ in range(2):
        record_fit(registry, None, "a = 1")
    run_ids = [r.id for r in registry.list_runs()]
    common = next(i for i in range(26) if run_ids[0][i] != run_ids[1][i])
    if common >= 6:
        with pytest.raises(AmbiguousRefError):
            registry.run(run_ids[0][:common])
    assert registry.run(run_ids[0].lower()).id == run_ids[0]


def test_package_version_change_warns(registry, tabular):
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    model = record_fit(registry, LogisticRegression().fit(frame[["age"]], target), "fit")
    registry.register(model, "m")
    run_id = registry.get("m").run_id
    registry.store.db.execute("UPDATE runs SET packages = ? WHERE id = ?",
                              ['{"scikit-learn": "0.1.0"}', run_id])
    with pytest.warns(PackageVersionWarning, match="scikit-learn"):
        registry.load("m")


def test_registry_folder_can_be_moved(tmp_path, tabular):
    import shutil

    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    original = Registry(tmp_path / "a")
    model = record_fit(original, LogisticRegression().fit(frame[["age"]], target), "fit")
    original.register(model, "m")
    original.close()
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = Registry(tmp_path / "b")
    assert moved.verify().ok
    np.testing.assert_array_equal(moved.load("m").predict(frame[["age"]]),
                                  model.predict(frame[["age"]]))
    assert str(tmp_path) not in (tmp_path / "b" / "registry.db").read_bytes().decode("latin-1")


def test_explicit_version_that_exists_is_a_conflict_and_writes_nothing(registry):
    from nbmodels import ConflictError

    registry.register({"w": 1}, "m", version="3.0.0")
    files = sorted(registry.objects.root.rglob("*"))
    with pytest.raises(ConflictError, match="already exists"):
        registry.register({"w": 2}, "m", version="3.0.0")
    assert sorted(registry.objects.root.rglob("*")) == files
    assert registry.register({"w": 2}, "m").version == "3.0.1"  # only the bytes differ: patch


def test_a_new_version_keeps_the_models_creation_time(registry):
    registry.register({"w": 1}, "m")
    created = registry.store.one("SELECT created_at FROM models WHERE name = 'm'")["created_at"]
    registry.register({"w": 2}, "m")
    row = registry.store.one("SELECT created_at, updated_at FROM models WHERE name = 'm'")
    assert row["created_at"] == created and row["updated_at"] >= created


@pytest.mark.parametrize("bad", ["m\n", "m\r\n", "m\x1b[31m", "m\t", "m\x00", "m\u2028"])
def test_a_control_character_in_a_name_or_version_is_refused_and_writes_nothing(registry, bad):
    registry.register({"w": 1}, "ok")
    files = sorted(registry.objects.root.rglob("*"))
    for attempt in (lambda: registry.register({"w": 2}, bad),
                    lambda: registry.register({"w": 2}, "ok", version="2.0.0" + bad[1:]),
                    lambda: registry.register({"w": 2}, "ok", version=bad[1:] + "2.0.0")):
        with pytest.raises(InvalidInputError) as caught:
            attempt()
        assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)
    assert sorted(registry.objects.root.rglob("*")) == files
    assert registry.models()["name"].tolist() == ["ok"]
    assert registry.versions("ok")["version"].tolist() == ["1.0.0"]
    for ref in ("ok" + bad, "ok@1.0.0" + bad, "ok@latest" + bad, "ok@production" + bad):
        with pytest.raises(InvalidInputError):
            registry.get(ref)
    record_fit(registry, None, "a = 1")
    with pytest.raises(InvalidInputError):
        registry.run(registry.list_runs()[0].id + bad[1:])


def test_unicode_letters_and_digits_make_model_names(registry):
    import unicodedata

    for name in ("modèle", "模型", "Ωmega-2.1_x", "٣d", "café"):
        registry.register({"name": name}, name)
        assert registry.get(f"{name}@1.0.0").name == name
        assert registry.get(name).version == "1.0.0"
    assert {"modèle", "模型", "Ωmega-2.1_x", "٣d", "café"} == set(registry.models()["name"])
    decomposed = unicodedata.normalize("NFD", "café")  # as some keyboards and file systems give it
    assert registry.get(decomposed).name == "café"
    assert registry.register({"name": "café"}, decomposed).created is False
    for bad in ("_modèle", "-x", "é!", "a b", "x" * 129, "1.2٫3"):
        with pytest.raises(InvalidInputError):
            registry.register({"w": 1}, bad)
    with pytest.raises(InvalidInputError):
        registry.register({"w": 1}, "m", version="1.٢.0")  # only ASCII digits in versions


def test_log_metric_after_register_updates_the_version_too(registry, tabular):
    import nbmodels
    from nbmodels import api
    from sklearn.linear_model import LogisticRegression

    frame, target = tabular
    model = record_fit(registry, LogisticRegression().fit(frame[["age"]], target), "fit",
                       accuracy=0.8)
    api.session.last_run_id = registry.list_runs()[0].id
    registry.register(model, "m")
    nbmodels.log_metric("auc", 0.91)
    nbmodels.log_param("threshold", 0.4)
    version = registry.get("m@1.0.0")
    assert version.metrics == {"accuracy": 0.8, "auc": 0.91}
    assert version.params["threshold"] == 0.4
    assert registry.versions("m").loc[0, "metrics.auc"] == 0.91
    # the next version compares with the metrics the version has now, not those it had
    again = record_fit(registry, LogisticRegression(C=0.5).fit(frame[["age"]], target), "fit",
                       accuracy=0.8)
    registry.update_run_values(registry.list_runs()[0].id, metrics={"auc": 0.91},
                               params={"threshold": 0.4})
    second = registry.register(again, "m")
    assert "metrics" not in second.bump_reason and "threshold" not in second.bump_reason, \
        second.bump_reason


def test_a_model_is_described_once_its_bytes_are_written_not_while_it_is_pickled(
        registry, tabular, monkeypatch):
    """Pickling holds the GIL: describing the model (importance, params) at the same time
    slows the save; it runs during the fsync instead, and its description is recorded."""
    import time

    from nbmodels import objects
    from nbmodels.registry import recording
    from sklearn.ensemble import RandomForestClassifier

    frame, y = tabular
    X = frame[["age", "income"]]
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    serialized, described_after = [], []
    real_serialize, real_describe = objects._serialize, recording._model_data

    def slow_serialize(*args):
        time.sleep(0.2)  # a long pickling: a description started with it would run now
        result = real_serialize(*args)
        serialized.append(True)
        return result

    monkeypatch.setattr(objects, "_serialize", slow_serialize)
    monkeypatch.setattr(recording, "_model_data",
                        lambda m: described_after.append(bool(serialized)) or real_describe(m))
    record_fit(registry, model, "model = RandomForestClassifier().fit(X, y)")
    assert described_after == [True]
    model_row = registry.last_run().variable("model")
    assert model_row.object_hash is not None
    assert set(model_row.data["importance"]) == {"age", "income"}


def test_register_of_the_bytes_a_run_just_stored_reuses_its_described_params(
        registry, tabular, monkeypatch):
    from nbmodels import facts
    from sklearn.linear_model import LogisticRegression

    frame, y = tabular
    model = LogisticRegression(C=0.5).fit(frame[["age", "income"]], y)
    record_fit(registry, model, "model = LogisticRegression(C=0.5).fit(X, y)")
    stored = registry.last_run().variable("model")
    read_from_model = []
    real = facts.capture.model_params
    monkeypatch.setattr(facts.capture, "model_params",
                        lambda m: read_from_model.append(m) or real(m))
    version = registry.register(model, "m", stored_as=stored.object_hash)
    assert read_from_model == []  # the run's description was used
    row = registry.store.one("SELECT facts FROM versions WHERE name = ? AND version = ?",
                             [version.name, version.version])
    assert row["facts"]["params"]["C"] == 0.5 == stored.data["params"]["C"]
    registry.register(LogisticRegression(C=2.0).fit(frame[["age", "income"]], y), "m")
    assert len(read_from_model) == 1  # a live object is read


def test_the_run_recorded_last_is_read_back_without_a_query_until_anything_is_committed(
        registry, tabular):
    """`%register` right after `%%track` reads the run just recorded: it is the record
    `record_run` built, equal to the one the database gives, and only while nothing has
    been committed since, by this registry or another process."""
    from datetime import datetime, timezone

    from sklearn.linear_model import LogisticRegression

    from nbmodels import Registry
    from nbmodels.registry import CellRecord

    frame, target = tabular
    model = LogisticRegression(max_iter=200).fit(frame[["age", "income"]], target)
    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord(
        source="clf = ...", experiment="memo", status="ok", started_at=now, ended_at=now,
        values={"clf": model, "C": 1.0, "accuracy": 0.9, "name": "ü", "nan": float("nan")}))
    queries = []
    registry.store.db.conn.set_trace_callback(queries.append)
    assert registry.run(run.id) is run
    assert queries == ["PRAGMA data_version"]
    registry.store.db.conn.set_trace_callback(None)
    assert Registry(registry.home).run(run.id) == run  # what another reader gets

    other = Registry(registry.home)  # another connection commits: the memo is stale
    other.update_run_values(run.id, params={"late": 1})
    assert registry.run(run.id).params["late"] == 1

    registry.record_run(CellRecord(source="clf = ...", experiment="memo", status="ok",
                                   started_at=now, ended_at=now, values={"clf": model}))
    last = registry.last_run()
    registry.update_run_values(last.id, metrics={"auc": 0.5})  # this connection commits
    assert registry.run(last.id).metrics == {"auc": 0.5}


def test_a_run_goes_on_while_its_objects_are_fsynced_and_commits_only_after(registry,
                                                                           monkeypatch):
    """A run's objects are fsynced and renamed into place in the background while the rest
    of the run is captured; its rows are committed only once every object is on disk."""
    import threading
    import time
    from datetime import datetime, timezone

    from nbmodels.objects import ObjectStore
    from nbmodels.registry import CellRecord, recording

    events = []
    real_publish = ObjectStore._publish

    def slow_publish(self, *args):
        time.sleep(0.2)  # a slow disk
        stored = real_publish(self, *args)
        events.append(("published", threading.current_thread() is threading.main_thread(),
                       self.path(stored.hash).is_file()))
        return stored

    real_row = recording._run_row
    monkeypatch.setattr(ObjectStore, "_publish", slow_publish)
    monkeypatch.setattr(recording, "_run_row",
                        lambda *args: events.append(("run row",)) or real_row(*args))
    registry.store.db.conn.set_trace_callback(
        lambda sql: events.append(("commit",)) if sql == "COMMIT" else None)
    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord("a = ...; b = ...", "t", "ok", now, now,
                                         values={"a": np.arange(1000.0), "b": np.ones(500)}))
    registry.store.db.conn.set_trace_callback(None)
    assert events == [("run row",), ("published", False, True), ("published", False, True),
                      ("commit",)]
    assert np.array_equal(registry.load_variables(run.id)["a"], np.arange(1000.0))
    assert list(registry.objects.temp_dir.iterdir()) == []


def test_an_object_that_cannot_reach_the_disk_is_a_reason_and_the_run_is_kept(registry,
                                                                             monkeypatch):
    from datetime import datetime, timezone

    from nbmodels.objects import ObjectStore
    from nbmodels.registry import CellRecord

    def full_disk(self, handle, temp_path, stored):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ObjectStore, "_publish", full_disk)
    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord("a = ...", "t", "ok", now, now,
                                         values={"a": np.arange(10.0), "lr": 0.1}))
    stored = run.variable("a")
    assert stored.object_hash is None and stored.size is None
    assert stored.reason == "not captured: OSError: [Errno 28] No space left on device"
    assert run.params == {"lr": 0.1} and registry.run(run.id) == run
    assert registry.store.query("SELECT * FROM objects") == []
    assert list(registry.objects.temp_dir.iterdir()) == []


def test_a_model_that_cannot_be_described_is_a_reason_and_no_object_row(registry, monkeypatch):
    """Describing a model runs beside its fsync; when it fails, the variable gives its
    object up (the file is left to gc) and no `objects` row is committed for it."""
    from datetime import datetime, timezone

    from sklearn.linear_model import LinearRegression

    from nbmodels.registry import CellRecord, recording

    def broken(model):
        raise RuntimeError("no description")

    monkeypatch.setattr(recording, "_model_data", broken)
    model = LinearRegression().fit(np.arange(10.0).reshape(-1, 1), np.arange(10.0))
    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord("lr = ...", "t", "ok", now, now, values={"lr": model}))
    assert run.variable("lr").reason == "not captured: RuntimeError: no description"
    assert run.variable("lr").object_hash is None
    assert registry.store.query("SELECT * FROM objects") == []
    assert list(registry.objects.temp_dir.iterdir()) == []


def test_record_answers_the_committed_run_and_builds_it_as_a_read_does(registry):
    from datetime import datetime, timezone

    from nbmodels.registry import CellRecord
    from sklearn.linear_model import LogisticRegression

    features = np.random.default_rng(0).normal(size=(60, 3))
    model = LogisticRegression(max_iter=200).fit(features, features[:, 0] > 0)
    now = datetime.now(timezone.utc)
    recorded = registry.record(CellRecord(
        source="clf = ...", experiment="e", status="ok", started_at=now, ended_at=now,
        values={"clf": model, "C": 1.0, "note": float("nan"), "unstorable": lambda: None}))
    run = registry.run(recorded.id)
    assert recorded.models == {"clf": run.variable("clf").object_hash}
    assert recorded.run == run  # the rows decoded as a read decodes them (NaN included)
    assert recorded.run is recorded.run
    plain = registry.record(CellRecord(source="x = 1", experiment="e", status="ok",
                                       started_at=now, ended_at=now, values={"x": 1}))
    assert plain.models == {} and registry.run(plain.id).params == {"x": 1}


def test_the_packages_and_git_json_kept_from_run_to_run_follow_the_values_types():
    from nbmodels.registry.recording import _flat_json

    assert _flat_json({"dirty": False}) == '{"dirty": false}'
    assert _flat_json({"dirty": 0}) == '{"dirty": 0}'  # equal to False, not the same JSON
    assert _flat_json({"dirty": 0.0}) == '{"dirty": 0.0}'
    assert _flat_json({"a": -0.0}) == '{"a": -0.0}' and _flat_json({"a": 0.0}) == '{"a": 0.0}'
    assert _flat_json({True: "x"}) == '{"true": "x"}' and _flat_json({1: "x"}) == '{"1": "x"}'
    assert _flat_json({"numpy": "2.1.0", "pandas": None}) == '{"numpy": "2.1.0", "pandas": null}'
    assert _flat_json({"files": ["a.py"]}) == '{"files": ["a.py"]}'  # not hashable: encoded


def test_a_run_records_whatever_git_state_a_caller_passes(registry):
    from datetime import datetime, timezone

    from nbmodels.registry import CellRecord

    now = datetime.now(timezone.utc)
    git = {"commit": "abc", "dirty": True, "changed": ["a.py", "b.py"]}
    run = registry.record_run(CellRecord(source="x = 1", experiment="e", status="ok",
                                         started_at=now, ended_at=now, values={"x": 1}, git=git))
    assert run.git == git and registry.run(run.id).git == git
