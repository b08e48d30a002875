"""Two people sharing one remote (a folder, and S3 on moto): clone, register, promote, push,
pull, restore; version clashes; merged stages; damaged objects; what a second push costs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nbmodels import IntegrityError, Registry
from nbmodels.remotes import layout, open_transport
from tests.remotes.helpers import person, remote_keys, track_and_register


def _same_predictions(a, b, X) -> None:
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_two_people_clone_register_promote_push_pull_restore(remote_url, tmp_path):
    alice = person(tmp_path, "alice")
    first, model, X = track_and_register(alice, "churn", seed=1, stage="staging")
    alice.add_remote("origin", remote_url)
    assert alice.push().ok

    bob = Registry.clone(remote_url, tmp_path / "bob")
    assert bob.last_pull.versions == 1 and bob.last_pull.objects >= 1
    assert [r.url for r in bob.list_remotes()] == [remote_url]
    _same_predictions(bob.load("churn@staging"), model, X)
    assert bob.get("churn@1.0.0").object_hash == first.object_hash
    assert bob.run(first.run_id).source == alice.run(first.run_id).source

    bob.set_stage("churn@1.0.0", "production", note="bob ships it")
    second, model2, X2 = track_and_register(bob, "churn", seed=2)
    report = bob.push()
    assert report.ok and report.versions == 1 and report.stage_changes == 1

    pulled = alice.pull()
    assert pulled.ok and pulled.versions == 1 and pulled.stage_changes == 1
    assert [v.version for v in alice.list_versions("churn")] == ["1.0.0", second.version]
    assert alice.get("churn@production").version == "1.0.0"
    assert [(t.to_stage, t.note) for t in alice.transitions("churn")] == [
        ("staging", None), ("production", "bob ships it")]
    _same_predictions(alice.load(f"churn@{second.version}"), model2, X2)
    assert alice.objects.check(second.object_hash)  # cached, intact


def test_second_push_uploads_nothing_and_makes_one_request(remote_url, tmp_path):
    alice = person(tmp_path, "alice")
    for seed in range(3):
        track_and_register(alice, f"m{seed}", seed=seed, stage="staging")
    alice.add_remote("origin", remote_url)
    first = alice.push()
    assert first.versions == 3 and first.objects >= 3
    before = remote_keys(remote_url, "")

    again = alice.push()
    assert (again.requests, again.objects, again.bytes, again.versions) == (1, 0, 0, 0)
    assert remote_keys(remote_url, "") == before
    bob = Registry.clone(remote_url, tmp_path / "bob")
    assert bob.pull().requests == 4  # the marker, one list page each of versions/, log/, packs/


def test_a_version_number_clash_is_one_line_then_pull_and_register_resolve_it(
        remote_url, tmp_path):
    alice = person(tmp_path, "alice")
    track_and_register(alice, "churn", seed=1)
    alice.add_remote("origin", remote_url)
    alice.push()
    bob = Registry.clone(remote_url, tmp_path / "bob")
    theirs, _, _ = track_and_register(alice, "churn", seed=2)
    ours, bob_model, X = track_and_register(bob, "churn", seed=3)
    assert theirs.version == ours.version
    assert alice.push().ok

    clash = bob.push()
    assert not clash.ok and len(clash.conflicts) == 1
    line = clash.conflicts[0]
    assert "\n" not in line and f"churn@{ours.version}" in line and "pull" in line
    remote = open_transport(remote_url)
    manifest = layout.decode(remote.get(layout.version_key("churn", ours.version)), "v")
    assert manifest["version"]["object_hash"] == theirs.object_hash  # nothing overwritten

    pulled = bob.pull()
    assert len(pulled.replaced) == 1 and "\n" not in pulled.replaced[0]
    assert bob.get(f"churn@{ours.version}").object_hash == theirs.object_hash
    again = bob.register(bob_model, "churn")
    assert again.created and again.version not in ("1.0.0", ours.version)
    assert bob.push().ok
    alice.pull()
    _same_predictions(alice.load(f"churn@{again.version}"), bob_model, X)
    assert (bob.home / pulled.replaced[0].split(" in ")[1].split(";")[0]).is_file()


def _churn_for_alice_and_bob(tmp_path):
    """Alice registers churn 1.0.0 and 1.0.1 and pushes them; Bob clones."""
    url = (tmp_path / "remote").as_uri()
    alice = person(tmp_path, "alice")
    track_and_register(alice, "churn", seed=1)
    track_and_register(alice, "churn", seed=2)
    alice.add_remote("origin", url)
    alice.push()
    return alice, Registry.clone(url, tmp_path / "bob")


def test_stage_changes_from_everyone_end_in_one_stage_per_version(tmp_path):
    alice, bob = _churn_for_alice_and_bob(tmp_path)
    alice.set_stage("churn@1.0.0", "production")
    bob.set_stage("churn@1.0.1", "staging")
    bob.set_stage("churn@1.0.1", "production")  # later: bob's promotion wins
    bob.push()
    alice.push()
    alice.pull()
    bob.pull()
    for registry in (alice, bob):
        assert [(v.version, v.stage) for v in registry.list_versions("churn")] == [
            ("1.0.0", "archived"), ("1.0.1", "production")]
    assert alice.history("churn").to_dict("records") == \
        bob.history("churn").to_dict("records")
    assert len(alice.transitions("churn")) == 4  # three made, one derived archive
    alice.push()
    bob.push()
    assert len(remote_keys((tmp_path / "remote").as_uri(), "log/churn")) == 4  # the derived change once


def test_a_damaged_object_on_the_remote_is_refused(remote_url, tmp_path):
    alice = person(tmp_path, "alice")
    version = alice.register({"weights": os.urandom(100_000)}, "churn")  # too big for a pack
    alice.add_remote("origin", remote_url)
    alice.push()
    remote = open_transport(remote_url)
    key = layout.object_key(version.object_hash)
    remote.put(key, remote.get(key)[:-1] + b"!")

    bob = Registry.clone(remote_url, tmp_path / "bob")
    assert len(bob.last_pull.damage) == 1 and "churn@1.0.0" in bob.last_pull.damage[0]
    assert not bob.objects.exists(version.object_hash)
    assert bob.list_models() == []

    carol = Registry.clone(remote_url, tmp_path / "carol", objects=False)
    assert carol.list_versions("churn")[0].location == "remote"
    with pytest.raises(IntegrityError, match="does not match its hash"):
        carol.load("churn@1.0.0")
    assert not carol.objects.exists(version.object_hash)
    assert carol.objects.temp_files() == []


def test_restore_fetches_a_missing_object_from_the_remote(remote_url, tmp_path, shell):
    alice = person(tmp_path, "alice")
    version, model, X = track_and_register(alice, "churn", seed=4)
    alice.add_remote("origin", remote_url)
    alice.push()
    bob = Registry.clone(remote_url, tmp_path / "bob", objects=False)
    assert not bob.objects.exists(version.object_hash)
    assert bob.verify().ok  # on the remote: not damage
    assert [v.location for v in bob.list_versions("churn")] == ["remote"]

    shell.run_line_magic("config", f"NBModels.home = {str(bob.home)!r}")
    shell.run_line_magic("restore", "churn@1.0.0 --as restored")
    _same_predictions(shell.user_ns["restored"], model, X)
    assert bob.objects.check(version.object_hash)
    assert [v.location for v in bob.list_versions("churn")] == ["both"]
    assert bob.versions("churn")["location"].tolist() == ["both"]
    assert [v.location for v in alice.list_versions("churn")] == ["both"]


def test_a_damaged_small_object_in_a_pack_is_refused_too(tmp_path):
    import base64

    url = (tmp_path / "remote").as_uri()
    alice = person(tmp_path, "alice")
    version = alice.register({"small": 1}, "churn")
    alice.add_remote("origin", url)
    alice.push()
    remote = open_transport(url)
    [key] = remote.list(layout.PACKS)
    pack = layout.decode(remote.get(key), key)
    pack["objects"][version.object_hash] = base64.b64encode(b"not the object").decode()
    remote.put(key, layout.encode(pack))
    bob = Registry.clone(url, tmp_path / "bob")
    assert len(bob.last_pull.damage) == 1 and not bob.objects.exists(version.object_hash)


def test_changes_made_in_the_same_millisecond_replay_in_the_order_they_were_made():
    from nbmodels.remotes.conflicts import merged_stages

    at = "2026-11-30T10:00:00.000+00:00"
    changes = [dict(name="m", version="1.0.0", from_stage="none", to_stage="staging", at=at,
                    uid="f" * 32, user="a"),
               dict(name="m", version="1.0.0", from_stage="staging", to_stage="production",
                    at=at, uid="0" * 32, user="a")]
    assert merged_stages(changes) == ({"1.0.0": "production"}, [])


def test_stage_changes_made_in_the_same_millisecond_show_in_one_order_everywhere(
        tmp_path, monkeypatch):
    """Alice's and Bob's changes share a timestamp (a fast machine): each history listed
    its own first (local insertion order) until both show the order both replay."""
    from datetime import datetime, timezone

    import nbmodels.registry.registering as registering

    alice, bob = _churn_for_alice_and_bob(tmp_path)
    same = datetime(2026, 11, 30, 17, 0, 0, 123000, tzinfo=timezone.utc)
    with monkeypatch.context() as frozen:
        frozen.setattr(registering, "utc_now", lambda: same)
        alice.set_stage("churn@1.0.0", "production")
        bob.set_stage("churn@1.0.1", "staging")
        bob.set_stage("churn@1.0.1", "production")
    bob.push()
    alice.push()
    alice.pull()
    bob.pull()
    histories = [[(t.version, t.from_stage, t.to_stage) for t in registry.transitions("churn")]
                 for registry in (alice, bob)]
    assert histories[0] == histories[1]
    order = histories[0]  # by uid within the millisecond, each version's chain kept
    assert order.index(("1.0.1", "none", "staging")) < \
        order.index(("1.0.1", "staging", "production"))
    winner = [t[0] for t in order if t[2] == "production"][-1]  # promoted last: it stays
    for registry in (alice, bob):
        assert [v.stage for v in registry.list_versions("churn")].count("production") == 1
        assert registry.get(f"churn@{winner}").stage == "production"
        assert [(t.from_stage, t.to_stage) for t in
                registry.version_detail(f"churn@{winner}").history][-1][1] == "production"


def test_stage_change_uids_rise_in_the_order_they_are_made():
    """Changes one stage move makes in one millisecond (archive the old production
    version, promote the new one) replay, and show, in the order they were made."""
    from nbmodels.versioning import replay_order, stage_change_uid

    uids = [stage_change_uid() for _ in range(1000)]
    assert uids == sorted(uids) and len(set(uids)) == 1000
    assert all(len(uid) == 32 and int(uid, 16) >= 0 for uid in uids)
    at = "2026-11-30T17:00:00.123+00:00"
    made = [{"version": "1.1.0", "from_stage": "production", "to_stage": "archived",
             "at": at, "uid": stage_change_uid()},
            {"version": "1.0.0", "from_stage": "none", "to_stage": "production",
             "at": at, "uid": stage_change_uid()}]
    earlier = {"version": "1.1.0", "from_stage": "none", "to_stage": "production",
               "at": "2026-11-30T16:00:00.000+00:00", "uid": "f" * 32}
    assert replay_order([*reversed(made), earlier]) == [earlier, *made]
