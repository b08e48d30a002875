"""Two people, one model: version-number clashes and merged stage changes.

A NAME@VERSION is the same version on two machines when its identity (object, creation
time, user, run: `layout.IDENTITY`) is; otherwise it was made twice, and that is a
conflict, reported in one line and never merged.

Stages: the log on a remote holds every stage change anyone pushed. Every machine replays
a model's changes in one order, by time and then by uid, so every machine ends with the
same stage per version. If the replay leaves two versions in production (two people each
promoted one before seeing the other's), the one promoted last stays and the others are
archived by a derived change whose uid is computed from the winning change, so every
machine derives the same change once and the audit trail holds it.
"""

from __future__ import annotations

import blake3

from ..versioning import replay_order
from . import layout


def version_conflict(name: str, version: str, remote: str, theirs: dict, ours: dict) -> str:
    """The one line a clash is reported in."""
    return (f"conflict: {name}@{version} on {remote} was made by {theirs.get('user') or '?'} at "
            f"{theirs.get('created_at')} (object {str(theirs.get('object_hash'))[:12]}), yours by "
            f"{ours.get('user') or '?'} at {ours.get('created_at')} (object "
            f"{str(ours.get('object_hash'))[:12]}): nothing overwritten; pull, then %register "
            "your model again to give it a new version")


def replaced_line(name: str, version: str, remote: str, ours: dict, kept: str) -> str:
    return (f"replaced: your {name}@{version} (object {str(ours.get('object_hash'))[:12]}) "
            f"clashed with {remote}'s and was set aside in {kept}; its object and run are "
            "kept: %register it again to give it a new version")


def same_version(a: dict, b: dict) -> bool:
    return layout.identity(a) == layout.identity(b)


def merged_stages(transitions: list[dict]) -> tuple[dict[str, str], list[dict]]:
    """One model's stage changes (dicts with version, from_stage, to_stage, at, uid,
    user) replayed in `replay_order`: `({version: stage}, derived changes to add)`."""
    stages: dict[str, str] = {}
    promoted: dict[str, int] = {}
    ordered = replay_order(transitions)
    for position, change in enumerate(ordered):
        stages[change["version"]] = change["to_stage"]
        if change["to_stage"] == "production":
            promoted[change["version"]] = position
    producing = [v for v, stage in stages.items() if stage == "production"]
    if len(producing) <= 1:
        return stages, []
    winner = max(producing, key=promoted.__getitem__)
    cause = ordered[promoted[winner]]
    derived = []
    for version in sorted(v for v in producing if v != winner):
        stages[version] = "archived"
        derived.append({
            "name": cause["name"], "version": version, "from_stage": "production",
            "to_stage": "archived", "user": cause["user"], "at": cause["at"],
            "note": f"replaced by {winner} (stage changes merged from a remote)",
            "uid": blake3.blake3(f"{cause['uid']}:{version}".encode()).hexdigest()[:32]})
    return stages, derived


_CHANGE_COLUMNS = ("name", "version", "from_stage", "to_stage", "user", "at", "note", "uid")


def apply_log(registry, entries: list[dict], touched: set[str]) -> list[dict]:
    """Inside the caller's transaction: add the pulled stage changes of versions this
    registry has (the others wait for a pull of their version), then set every version
    of the models concerned to its merged stage, adding the derived changes. Returns the
    entries applied."""
    db = registry.store.db
    names = touched | {e["name"] for e in entries}
    here = {(r[0], r[1]) for name in names for r in db.execute(
        "SELECT name, version FROM versions WHERE name = ?", [name]).fetchall()}
    applied = replay_order([e for e in entries if (e["name"], e["version"]) in here
                            and e.get("uid")])  # ids in that order: history shows it
    registry.store.insert("transitions", [{c: e.get(c) for c in _CHANGE_COLUMNS}
                                          for e in applied], ignore=True)
    for name in sorted(touched | {e["name"] for e in applied}):
        changes = [dict(zip(_CHANGE_COLUMNS, row)) for row in db.execute(
            f"SELECT {', '.join(_CHANGE_COLUMNS)} FROM transitions WHERE name = ?", [name])]
        stages, derived = merged_stages(changes)
        registry.store.insert("transitions", derived, ignore=True)
        for version, stage in stages.items():
            db.execute("UPDATE versions SET stage = ? WHERE name = ? AND version = ? AND "
                       "stage != ?", [stage, name, version, stage])
    return applied
