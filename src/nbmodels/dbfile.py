"""The registry's database file as the file system and SQLite see it: whether this user
may write it, and what SQLite's errors about it mean for the user.

`translate_errors` turns SQLite's reports of a damaged file into one `DatabaseDamagedError`
line (what happened, `nbmodels verify`, restore from a backup), a write the file system
refuses into a `ReadOnlyRegistryError`, and text or numbers SQLite cannot take into an
`InvalidInputError`; `guard_errors` applies it to every public method of `Registry`, so
no surface ever shows a `sqlite3` traceback.
"""

from __future__ import annotations

import functools
import inspect
import os
import sqlite3
from pathlib import Path

from .errors import (DatabaseDamagedError, InvalidInputError, NbModelsError,
                     ReadOnlyRegistryError)

# SQLite's primary result codes for a file that is not (or no longer) a sound database
_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_READONLY_CODE = 8  # SQLITE_READONLY
_BUSY_CODE = 5  # SQLITE_BUSY: "database is locked"


def can_write(path: Path) -> bool:
    """Whether this user can write the database file `path` and create its WAL files
    beside it (for a folder not made yet: whether its nearest existing parent is
    writable). False on a read-only file system, for root too."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def is_damage(error: sqlite3.Error) -> bool:
    """Whether SQLite says the database file itself is damaged (not a locked database, a
    constraint or a bug in a query)."""
    return _primary_code(error) in _DAMAGE_CODES


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite says another connection holds the lock ("database is locked")."""
    return _primary_code(error) == _BUSY_CODE


def _primary_code(error: sqlite3.Error) -> int:
    return (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF


def damaged_error(path: Path, error: sqlite3.Error) -> DatabaseDamagedError:
    return DatabaseDamagedError(
        f"the registry database {path} is damaged ({error}): run `nbmodels verify` to see "
        "what is affected, then restore the registry from a backup (`nbmodels backup DEST` "
        "makes one)")


def read_only_error(path: Path) -> ReadOnlyRegistryError:
    return ReadOnlyRegistryError(
        f"registry {path.parent} is read-only for you: listing, show and load work; "
        "changing it needs write access to its folder")


def permission_error(path: Path, error: PermissionError) -> ReadOnlyRegistryError:
    name = Path(error.filename).name if error.filename else "one of its files"
    return ReadOnlyRegistryError(
        f"registry {path.parent}: permission denied for {name}: ask whoever owns the folder "
        "for access")


class translate_errors:
    """`with translate_errors(path):` SQLite's "database disk image is malformed" / "file is
    not a database" become a `DatabaseDamagedError`, a write refused by the file system a
    `ReadOnlyRegistryError`, and text with a lone surrogate that SQLite or a path cannot
    take an `InvalidInputError`: one line that says what to do, never a traceback. A class
    rather than a generator: every `Registry` call goes through one."""

    __slots__ = ("path",)

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, _TRANSLATED) and not isinstance(error, NbModelsError):
            _raise_translated(error, self.path)
        return False


# what `translate_errors` may turn into one of nbmodels' errors
_TRANSLATED = (sqlite3.DatabaseError, PermissionError, OverflowError, UnicodeEncodeError)


def _raise_translated(exc: BaseException, path: Path) -> None:
    """Raise the error `translate_errors` makes of `exc`; return when it stays as it is."""
    if isinstance(exc, sqlite3.DatabaseError):
        if is_damage(exc):
            raise damaged_error(path, exc) from exc
        if _primary_code(exc) == _READONLY_CODE:
            raise read_only_error(path) from exc
        return
    if isinstance(exc, PermissionError):
        raise permission_error(path, exc) from exc
    if isinstance(exc, OverflowError):  # an int beyond SQLite's 64 bits, as a parameter
        raise InvalidInputError(f"a number too large for the registry ({exc}): SQLite "
                                "stores integers below 2**63") from None
    if isinstance(exc, UnicodeEncodeError):  # text SQLite or the file system cannot take
        raise InvalidInputError(
            f"{exc.object[:40]!r} is not valid text (a lone surrogate at position "
            f"{exc.start}, e.g. from bytes that are not UTF-8): give it as UTF-8") from None


def guard_errors(cls):
    """Class decorator: every public method of `cls` (which has `self.store`) reports a
    damaged or unwritable registry through `translate_errors`."""
    for name, method in list(vars(cls).items()):
        if inspect.isfunction(method) and not name.startswith("_"):
            setattr(cls, name, _guarded(method))
    return cls


def _guarded(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with translate_errors(self.store.path):
            return method(self, *args, **kwargs)

    return wrapper
