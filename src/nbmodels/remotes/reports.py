"""What `push`, `pull` and `clone` did, and a remote as `remote list` shows it."""

from __future__ import annotations

from dataclasses import dataclass

from ..records import _Record


@dataclass(frozen=True)
class Remote(_Record):
    """A remote a registry shares through: a name and a URL, nothing else (no credential)."""

    name: str
    url: str
    added_at: str


@dataclass(frozen=True)
class TransferReport(_Record):
    """One push or pull. `conflicts`: one line per NAME@VERSION made differently here and
    on the remote (nothing overwritten); `damage`: one line per object refused (its bytes
    do not match its hash) with what was left out for it. `requests` counts every request
    made to the remote (a list page is one)."""

    direction: str  # "push" or "pull"
    remote: str
    url: str
    versions: int = 0
    runs: int = 0
    objects: int = 0
    bytes: int = 0
    stage_changes: int = 0
    requests: int = 0
    conflicts: tuple[str, ...] = ()
    damage: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()  # pull: local versions that lost a conflict (kept aside)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.damage

    def to_dict(self) -> dict:
        return {**super().to_dict(), "ok": self.ok}

    def summary(self) -> str:
        """One line: what moved, and how many requests it took."""
        verb = "pushed to" if self.direction == "push" else "pulled from"
        moved = "uploaded" if self.direction == "push" else "downloaded"
        return (f"{verb} {self.remote} ({self.url}): {self.versions} versions, {self.runs} "
                f"runs, {self.stage_changes} stage changes; {moved} {self.objects} objects "
                f"({_size(self.bytes)}) in {self.requests} requests")

    def lines(self) -> list[str]:
        return [self.summary(), *self.replaced, *self.conflicts, *self.damage]


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
