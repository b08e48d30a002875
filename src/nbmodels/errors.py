"""The exception tree. The core raises these and never prints.

    NbModelsError
    ├── NotFoundError (LookupError)     unknown run, model, version or stage holder
    ├── AmbiguousRefError (LookupError) a run id prefix that matches several runs
    ├── InvalidInputError (ValueError)  malformed REF, name, version, stage, tag
    ├── ConflictError                   the version already exists
    ├── IntegrityError                  an object's bytes do not match its hash
    ├── UntrustedObjectError            a pickle while pickles are refused; unapproved skops types
    ├── DatabaseDamagedError            registry.db is damaged (SQLite reports corruption)
    ├── ReadOnlyRegistryError (PermissionError)  a write to a registry this user cannot write
    └── ReproduceError                  a recorded cell could not be re-run by `reproduce`
        └── MissingDataError            ... because a data file it reads is not there

    NbModelsWarning (UserWarning)
    └── PackageVersionWarning           restored with other package versions than recorded

Surfaces turn `NbModelsError` into one line for the user (a `UsageError`, exit 1, a JSON
error); any other exception is a bug and keeps its traceback.
"""


class NbModelsError(Exception):
    """Base of every error nbmodels raises on purpose."""


class NotFoundError(NbModelsError, LookupError):
    """A run, model or version that does not exist."""


class AmbiguousRefError(NbModelsError, LookupError):
    """A run id prefix that matches more than one run."""


class InvalidInputError(NbModelsError, ValueError):
    """Input that is malformed: a REF, a model name, a version, a stage, a tag."""


class ConflictError(NbModelsError):
    """A write that clashes with what is already in the registry."""


class IntegrityError(NbModelsError):
    """An object whose bytes no longer match the hash it is stored under."""


class UntrustedObjectError(NbModelsError):
    """An object that would run code or build types the user has not approved to load: a
    pickle while `NBModels.allow_pickle` is False, or a skops file with untrusted types."""


class DatabaseDamagedError(NbModelsError):
    """The registry's database file is damaged: `nbmodels verify` says what, a backup restores it."""


class ReadOnlyRegistryError(NbModelsError, PermissionError):
    """A write to a registry that this user (or this file system) can only read."""


class ReproduceError(NbModelsError):
    """A cell that `reproduce` re-ran raised, or the run cannot be re-run at all."""


class MissingDataError(ReproduceError):
    """A data file a re-run cell reads is not where the lineage read it."""


class NbModelsWarning(UserWarning):
    """Base of nbmodels warnings."""


class PackageVersionWarning(NbModelsWarning):
    """A model restored under different package versions than it was trained with."""
