"""Registries a user can read but not write (a colleague's shared folder, a read-only
mount): they list, show and load, opened read-only with no pragma that writes; writing says
so in one line. Objects are created with the database's permissions, so whoever may read
`registry.db` may load what it lists.

The tests run as root, which ignores file permissions, so each takes away the right for
real in a child process: a read-only bind mount in a private mount namespace (`unshare
--mount`; the kernel refuses writes there even to root) or a forked child that becomes
the user `nobody` (`os.setuid`) before it reads. Each skips where the machine cannot do it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap

import pytest

from nbmodels import Registry

from ..helpers import record_fit


def fit(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c).fit([[0], [1]], [0, 1])


def make_registry(home) -> str:
    """clf 1.0.0 from a tracked run, clf 1.1.0 in staging; returns the run id. Closed."""
    registry = Registry(home)
    registry.register(record_fit(registry, fit(1.0), "model = fit(1.0)", accuracy=0.9), "clf")
    registry.register(fit(0.5), "clf", stage="staging")
    run_id = registry.list_runs()[0].id
    registry.close()
    return run_id


# ---- a read-only mount ---------------------------------------------------------------------

READER = textwrap.dedent("""
    import json, sys, warnings
    from nbmodels import Registry
    from nbmodels.cli import main
    home = sys.argv[1]
    registry = Registry(home)
    result = {
        "runs": [r.id for r in registry.list_runs()],
        "models": [m.name for m in registry.list_models()],
        "show": registry.get("clf@staging").version,
        "loaded_C": registry.load("clf@1.0.0").C,
        "variables": sorted(registry.load_variables(registry.list_runs()[0].id)),
        "mode": registry.store.mode,
    }
    try:
        registry.set_stage("clf@1.0.0", "production")
    except Exception as exc:
        result["stage_error"] = [type(exc).__name__, str(exc)]
    registry.close()
    result["cli"] = {" ".join(argv): main(["--home", home, *argv]) for argv in
                     (["runs"], ["models"], ["versions", "clf"], ["show", "clf@1.0.0"],
                      ["history", "clf"], ["verify"], ["stage", "clf@1.0.0", "production"])}
    print("RESULT " + json.dumps(result))
""")


def run_in_read_only_mount(home, hold_open: bool = False) -> tuple[dict, str]:
    """Run READER on `home` seen through a read-only bind mount; (its result, its stderr)."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("needs unshare and mount")
    mount_point = tempfile.mkdtemp(prefix="nbmodels-ro-")
    script = (f'mount --bind "$1" "$2" && mount -o remount,ro,bind "$2" && '
              f'touch "$2/probe" 2>/dev/null && echo WRITABLE; '
              f'exec "{sys.executable}" -c "$3" "$2"')
    holder = None
    try:
        if hold_open:  # a writer keeps the database open: its -wal and -shm files exist
            holder = sqlite3.connect(home / "registry.db")
            holder.execute("SELECT count(*) FROM runs").fetchone()
        done = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", str(home),
                               mount_point, READER], capture_output=True, text=True, timeout=120)
    finally:
        if holder is not None:
            holder.close()
        os.rmdir(mount_point)
    if "RESULT " not in done.stdout and ("unshare" in done.stderr or "mount" in done.stderr):
        pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()[:200]}")
    assert "WRITABLE" not in done.stdout, "the bind mount is not read-only"
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("hold_open", [False, True], ids=["closed", "writer-holds-it-open"])
def test_a_read_only_mount_lists_shows_and_loads(tmp_path, hold_open):
    """Given a registry on a read-only mount (no -shm file, so SQLite opens it
    `immutable`; or with a writer holding it open, `mode=ro`), listing, show, load and the
    CLI's read commands work; a stage change is one `ReadOnlyRegistryError` line."""
    home = tmp_path / ".nbmodels"
    run_id = make_registry(home)
    result, stderr = run_in_read_only_mount(home, hold_open)
    assert result["runs"] == [run_id] and result["models"] == ["clf"]
    assert result["show"] == "1.1.0" and result["loaded_C"] == 1.0
    assert "model" in result["variables"]
    assert result["mode"] == ("ro" if hold_open else "immutable")
    error_type, message = result["stage_error"]
    assert error_type == "ReadOnlyRegistryError" and "read-only" in message
    assert {k: v for k, v in result["cli"].items() if not k.startswith("stage")} == {
        "runs": 0, "models": 0, "versions clf": 0, "show clf@1.0.0": 0, "history clf": 0,
        "verify": 0}
    assert result["cli"]["stage clf@1.0.0 production"] == 1
    assert stderr.count("\n") == 1 and "read-only" in stderr and "Traceback" not in stderr
    assert Registry(home).get("clf@1.0.0").stage == "none"


# ---- another user: nobody ------------------------------------------------------------------

def as_nobody(function) -> dict:
    """Run `function()` in a forked child that is the user `nobody`; its JSON-able result
    (or the error it raised, as {"error": [type, message]})."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            try:
                result = function()
            except Exception as exc:
                result = {"error": [type(exc).__name__, str(exc)]}
            os.write(writer, json.dumps(result).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and text
    return json.loads(text)


@pytest.fixture
def shared_folder():
    """A folder others may enter and read (but not write), outside pytest's private tmp."""
    folder = tempfile.mkdtemp(prefix="nbmodels-shared-")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder)


def test_a_colleague_who_can_only_read_the_folder_lists_and_loads(shared_folder):
    """Given a registry made by its owner with the usual umask (022), the user nobody (who
    can read the folder but not write it) lists it, shows a version and loads its model;
    a stage change is one line that says the registry is read-only for them."""
    from sklearn.linear_model import LogisticRegression  # noqa: F401  (the child unpickles it)

    home = os.path.join(shared_folder, ".nbmodels")
    old_umask = os.umask(0o022)
    try:
        run_id = make_registry(home)
    finally:
        os.umask(old_umask)

    def read():
        registry = Registry(home)
        result = {"runs": [r.id for r in registry.list_runs()],
                  "version": registry.get("clf@staging").version,
                  "C": registry.load("clf@1.0.0").C, "mode": registry.store.mode}
        try:
            registry.set_stage("clf@1.0.0", "production")
        except Exception as exc:
            result["stage_error"] = type(exc).__name__
        return result

    result = as_nobody(read)
    assert result == {"runs": [run_id], "version": "1.1.0", "C": 1.0, "mode": "immutable",
                      "stage_error": "ReadOnlyRegistryError"}


def test_objects_are_created_with_the_database_permissions(registry):
    """A new registry's objects get the database's mode (the umask's 0644 here, not
    mkstemp's 0600); after the owner opens the database to the group (0660), new objects
    follow it."""
    registry.register(fit(1.0), "clf")
    database = registry.home / "registry.db"
    first = registry.objects.path(registry.get("clf@1.0.0").object_hash)
    assert stat.S_IMODE(first.stat().st_mode) == stat.S_IMODE(database.stat().st_mode)
    assert stat.S_IMODE(first.stat().st_mode) & 0o044  # group and others may read
    database.chmod(0o660)
    registry.register(fit(2.0), "clf")
    second = registry.objects.path(registry.get("clf@1.1.0").object_hash)
    assert stat.S_IMODE(second.stat().st_mode) == 0o660


def test_a_colleague_can_load_objects_stored_by_the_owner(shared_folder):
    """The object file itself is readable by nobody (it was 0600 before)."""
    home = os.path.join(shared_folder, ".nbmodels")
    old_umask = os.umask(0o022)
    try:
        make_registry(home)
    finally:
        os.umask(old_umask)
    registry = Registry(home)
    path = str(registry.objects.path(registry.get("clf@1.0.0").object_hash))
    registry.close()

    def read_bytes():
        with open(path, "rb") as file:
            return {"bytes": len(file.read())}

    assert as_nobody(read_bytes)["bytes"] > 0
