"""What a remote holds, and under which keys.

    nbmodels.json                       the marker: {"format": 1}; written once
    objects/ab/cdef...                  content-addressed bytes (BLAKE3 of the bytes, as in
                                        a registry's objects/): uploaded once, never changed
    runs/<RUN_ID>.json                  a run: its row, variables, inputs, lineage and the
                                        `objects` rows of what it stored (immutable)
    versions/<NAME>/<VERSION>.json      a version: its row without the stage, its model's
                                        row and its object's row (immutable)
    log/<NAME>/<UID>.json               one stage change (append-only: a new key each)
    packs/<UID>.json                    what one push wrote (its manifests, log entries and
                                        objects under 64 kB), written last: a pull reads one
                                        pack instead of a request per key; the keys above
                                        stay the truth (a push killed before its pack just
                                        has none)

Manifests are written only once their objects are on the remote, and stage changes only
once their version's manifest is: whatever a key names is always there. Manifests and
log entries are written with "create only" (S3 `If-None-Match: *`, `O_EXCL`-like on a
folder), so nothing on a remote is ever overwritten.

Rows are kept as SQLite stores them (JSON columns as their text), so a pulled row is the
pushed row byte for byte; a version's stage is not in its manifest, it is the replay of
the log (see `conflicts.merged_stages`).
"""

from __future__ import annotations

import json
from typing import Any

FORMAT = 1
MARKER = "nbmodels.json"

# the columns a version's identity is made of: the same NAME@VERSION with other values here
# was made by someone else (a conflict), whatever else differs (params logged later)
IDENTITY = ("object_hash", "created_at", "user", "run_id")


def object_key(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


def run_key(run_id: str) -> str:
    return f"runs/{run_id}.json"


def version_key(name: str, version: str) -> str:
    return f"versions/{name}/{version}.json"


def log_key(name: str, uid: str) -> str:
    return f"log/{name}/{uid}.json"


PACKS = "packs/"
PACK_INLINE_MAX = 64 * 2**10  # objects up to this size ride in the pack
PACK_INLINE_TOTAL = 32 * 2**20


def pack_key(uid: str) -> str:
    return f"packs/{uid}.json"


def pack(manifests: dict[str, dict], inline: dict[str, bytes]) -> dict:
    import base64

    return {"format": FORMAT, "kind": "pack", "manifests": manifests,
            "objects": {h: base64.b64encode(b).decode("ascii") for h, b in inline.items()}}


def versions_prefix(name: str | None = None) -> str:
    return f"versions/{name}/" if name else "versions/"


def log_prefix(name: str | None = None) -> str:
    return f"log/{name}/" if name else "log/"


def parse_version_key(key: str) -> tuple[str, str] | None:
    """`versions/NAME/1.2.0.json` -> ("NAME", "1.2.0"); None for any other key."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "versions" or not parts[2].endswith(".json"):
        return None
    return parts[1], parts[2][:-len(".json")]


def encode(manifest: dict[str, Any]) -> bytes:
    """Canonical JSON bytes: the same manifest made on two machines is the same bytes."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def decode(data: bytes, key: str) -> dict[str, Any]:
    """A manifest read back; `ValueError` naming the key when it is not one."""
    try:
        manifest = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{key} is not a manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{key} is not a manifest of format {FORMAT}")
    return manifest


def marker() -> bytes:
    return encode({"format": FORMAT, "kind": "nbmodels-remote"})


def run_manifest(run: dict, variables: list[dict], inputs: list[dict], lineage: dict | None,
                 objects: list[dict]) -> dict:
    return {"format": FORMAT, "kind": "run", "run": run, "variables": variables,
            "inputs": inputs, "lineage": lineage, "objects": objects}


def version_manifest(version: dict, model: dict, objects: list[dict]) -> dict:
    return {"format": FORMAT, "kind": "version",
            "version": {k: v for k, v in version.items() if k != "stage"},
            "model": model, "objects": objects}


def stage_entry(transition: dict) -> dict:
    keep = ("name", "version", "from_stage", "to_stage", "user", "at", "note", "uid")
    return {"format": FORMAT, "kind": "stage", **{k: transition[k] for k in keep}}


def identity(version_row: dict) -> tuple:
    return tuple(version_row.get(k) for k in IDENTITY)
