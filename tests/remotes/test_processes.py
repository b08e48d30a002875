"""Several processes at once, and processes killed midway (SIGKILL), against a folder and S3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from nbmodels import Registry
from nbmodels.remotes import layout, open_transport
from tests.remotes.helpers import person

# each worker: a registry of its own with its own models and one version of `shared` that
# every worker makes differently; all push at once when the `go` file appears
CONCURRENT = textwrap.dedent("""
    import json, os, sys, time
    from nbmodels import Registry
    home, url, who, go = sys.argv[1:5]
    registry = Registry(home)
    for n in range(4):
        registry.register({"who": who, "n": n, "pad": os.urandom(50_000)}, f"m-{who}")
    registry.set_stage(f"m-{who}@1.0.0", "production", note=who)
    registry.register({"who": who}, "shared", version="1.0.0")
    registry.add_remote("origin", url)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    report = registry.push()
    print(json.dumps(report.to_dict()))
""")

# a push (or pull) that stops for good after `after` writes of the kind named: the parent
# kills it with SIGKILL on "stopped"
KILLED = textwrap.dedent("""
    import sys, threading, time
    from nbmodels import Registry
    from nbmodels.remotes import pull, transport
    home, what, after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    count, lock = [0], threading.Lock()

    def stop_after(original, matches):
        def wrapped(self, key, *args, **kwargs):
            if matches(key):
                with lock:
                    count[0] += 1
                    if count[0] > after:
                        print("stopped", flush=True)
                        time.sleep(600)
            return original(self, key, *args, **kwargs)
        return wrapped

    if what == "pull":  # objects saved, from a pack or downloaded
        pull.save_verified = stop_after(pull.save_verified, lambda digest: True)
    for cls in (transport.FileTransport, transport.ObstoreTransport):
        if what != "pull":
            prefix = "objects/" if what == "objects" else "versions/"
            cls.put = stop_after(cls.put, lambda key: key.startswith(prefix))
    registry = Registry(home)
    registry.pull() if what == "pull" else registry.push()
    print("finished", flush=True)
""")


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], text=True,
                            stdout=subprocess.PIPE, **kwargs)


@pytest.mark.slow
def test_concurrent_pushes_from_several_processes_lose_nothing(remote_url, tmp_path):
    who = ["ann", "ben", "cy"]
    go = tmp_path / "go"
    workers = [_python(CONCURRENT, tmp_path / w / ".nbmodels", remote_url, w, go) for w in who]
    assert [w.stdout.readline().strip() for w in workers] == ["ready"] * len(who)
    started = time.perf_counter()
    go.touch()
    reports = [json.loads(w.communicate(timeout=120)[0].splitlines()[-1]) for w in workers]
    print("pushes", time.perf_counter() - started)
    assert all(w.returncode == 0 for w in workers)
    assert sum(len(r["conflicts"]) for r in reports) == 2  # `shared@1.0.0`: one wins

    everyone = Registry.clone(remote_url, tmp_path / "everyone")
    assert everyone.last_pull.ok
    for w in who:
        versions = everyone.list_versions(f"m-{w}")
        assert len(versions) == 4 and versions[0].stage == "production"
        assert [t.note for t in everyone.transitions(f"m-{w}")] == [w]
        assert everyone.load(f"m-{w}@latest")["who"] == w
    winner = everyone.load("shared@1.0.0")["who"]
    assert [len(r["conflicts"]) for r in reports] == [int(w != winner) for w in who]


def _assert_remote_consistent(url: str) -> None:
    """Every key a manifest or log entry names is on the remote."""
    remote = open_transport(url)
    keys = set(remote.list(""))
    for key in [k for k in keys if k.startswith(("runs/", "versions/"))]:
        manifest = layout.decode(remote.get(key), key)
        assert {layout.object_key(o["hash"]) for o in manifest["objects"]} <= keys, key
        run_id = manifest.get("version", {}).get("run_id")
        assert not run_id or layout.run_key(run_id) in keys
    for key in [k for k in keys if k.startswith("log/")]:
        entry = layout.decode(remote.get(key), key)
        assert layout.version_key(entry["name"], entry["version"]) in keys


@pytest.mark.slow
@pytest.mark.parametrize("what", ["objects", "manifests", "pull"])
def test_a_killed_push_or_pull_leaves_both_sides_consistent_and_a_rerun_completes(
        remote_url, tmp_path, what):
    alice = person(tmp_path, "alice")
    made = {}
    for n in range(12):
        version = alice.register({"n": n, "pad": os.urandom(20_000)}, f"m{n % 3}")
        made[version.ref] = n
    alice.set_stage("m0@1.0.0", "staging")
    alice.add_remote("origin", remote_url)
    home = alice.home
    if what == "pull":
        alice.push()
        bob = person(tmp_path, "bob")
        bob.add_remote("origin", remote_url)
        bob.close()
        home = bob.home
    child = _python(KILLED, home, what, 5)
    assert child.stdout.readline().strip() == "stopped"
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    _assert_remote_consistent(remote_url)
    registry = Registry(home)
    assert registry.verify().ok
    if what == "pull":  # nothing committed: only verified objects were kept
        assert registry.list_models() == [] and len(list(registry.objects.hashes())) <= 5 + 16
    report = registry.pull() if what == "pull" else registry.push()
    assert report.ok
    _assert_remote_consistent(remote_url)
    everyone = Registry.clone(remote_url, tmp_path / "everyone")
    assert everyone.last_pull.ok and everyone.last_pull.versions == len(made)
    for ref, n in made.items():
        assert everyone.load(ref)["n"] == n
        assert registry.load(ref)["n"] == n
    assert everyone.get("m0@1.0.0").stage == "staging"
