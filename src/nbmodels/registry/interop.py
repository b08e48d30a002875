"""MLflow in and out, and model cards: `export`, `push_to_mlflow`, `import_mlflow`, `card`.

The work is in `nbmodels.interop`; this mixin gathers what it needs from the registry (the
version, its run, its verified bytes or the loaded model) and registers what comes in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..dbfile import guard_errors
from ..errors import InvalidInputError, NbModelsError, UntrustedObjectError
from ..facts import training_data
from ..records import ModelVersion, Run

EXPORT_FORMATS = ("mlflow",)
CARD_FORMATS = ("html", "md")
EXAMPLE_ROWS = 5


@guard_errors
class InteropMixin:
    """`export` (an MLflow model folder), `push_to_mlflow`, `import_mlflow`, `card`."""

    def export(self, ref: str, dest: str | Path, format: str = "mlflow") -> Path:
        """Write the version `ref` names as an MLflow model folder `dest` (new or empty):
        `MLmodel`, the model in its flavour's own file (scikit-learn, XGBoost, LightGBM,
        PyTorch; else a `python_function` loader), requirements from the run's recorded
        packages, the signature and an input example from its training data. Stored bytes
        already in the flavour's format are copied, hash-verified, without loading the
        model; others are loaded as `load` does (refused as `load` refuses them)."""
        if format not in EXPORT_FORMATS:
            raise InvalidInputError(f"unknown export format {format!r}: use "
                                    f"{', '.join(EXPORT_FORMATS)}")
        from ..interop import mlflow_export

        version = self.get(ref)
        try:
            return mlflow_export.write(Path(dest), self._mlflow_source(version))
        except mlflow_export.ExportError as exc:
            raise InvalidInputError(f"cannot export {version.ref}: {exc}") from None

    def _mlflow_source(self, version: ModelVersion):
        from ..interop import mlflow_export

        run = self._version_run(version)
        serializer = self._serializer(version.object_hash)
        flavor, copy = mlflow_export.plan(version.model_type, serializer)
        source = mlflow_export.ModelSource(
            version.model_type, serializer, flavor, packages=run.packages if run else {},
            python=self._run_python(run), metadata={"nbmodels.ref": version.ref,
                                                    "nbmodels.object_hash": version.object_hash})
        if copy:
            source.data = self.objects.read_verified(version.object_hash)
            if serializer.startswith("skops"):
                source.skops_trusted = self._skops_types(version.ref, source.data)
        else:
            source.obj = self._load_objects({version.ref: version.object_hash}, ())[version.ref]
            source.flavor = mlflow_export.flavor_of_object(source.obj, flavor)
        schema, digest = self._model_input(version, run)
        source.signature = mlflow_export.signature_for(schema)
        source.example = self._example_rows(digest) if source.signature else None
        return source

    def _version_facts(self, version: ModelVersion) -> dict:
        """The facts stored with a version when it was registered (`nbmodels.facts`)."""
        row = self.store.one("SELECT facts FROM versions WHERE name = ? AND version = ?",
                             [version.name, version.version])
        return row["facts"] if row and isinstance(row["facts"], dict) else {}

    def _run_python(self, run: Run | None) -> str | None:
        row = self.store.one("SELECT python FROM runs WHERE id = ?", [run.id]) if run else None
        return row["python"] if row else None

    def _skops_types(self, what: str, data: bytes) -> list[str]:
        """The types of a skops file that skops does not trust by default, each approved
        (`trusted_types`) as `load` requires: MLflow's loader is told the same list."""
        import skops.io

        found = skops.io.get_untrusted_types(data=data)
        refused = [t for t in found if t not in self.trusted_types]
        if refused:
            raise UntrustedObjectError(
                f"refusing to export {what}: it holds types skops does not trust by default: "
                f"{', '.join(refused)}; approve them with `%config NBModels.trusted_types = "
                f"{refused!r}` if you trust where the registry came from")
        return list(found)

    def _model_input(self, version: ModelVersion, run: Run | None) -> tuple[dict | None, str | None]:
        """The schema and object hash of the data the model takes: the training data whose
        columns (or width) match the model's recorded signature, else the only 2-D one."""
        if run is None:
            return None, None
        hashes = {i.name: i.object_hash for i in run.inputs}
        hashes.update({v.name: v.object_hash for v in run.variables if v.role == "data"})
        wanted = version.signature or {}
        candidates = []
        for name, data in training_data(run).items():
            schema = data["schema"]
            shape = schema.get("shape") or []
            if len(shape) != 2:
                continue
            columns = list(schema.get("columns") or [])
            if wanted.get("features") and columns == wanted["features"]:
                return schema, hashes.get(name)
            if wanted.get("n_features") in (None, shape[1]):
                candidates.append((schema, hashes.get(name)))
        return candidates[0] if len(candidates) == 1 else (None, None)

    def _example_rows(self, digest: str | None) -> Any:
        """The first rows of the stored training data, or None when it cannot be read
        (not stored, refused as a pickle, damaged): the example is a nicety."""
        if digest is None:
            return None
        try:
            data = self._load_objects({"example": digest}, ())["example"]
        except NbModelsError:
            return None
        return data[:EXAMPLE_ROWS] if not hasattr(data, "iloc") else data.iloc[:EXAMPLE_ROWS]

    def push_to_mlflow(self, ref: str, tracking_uri: str):
        """Publish the version `ref` names to the MLflow tracking server at `tracking_uri`:
        a run with its params, metrics, tags and cell source, the logged model (as
        `export` writes it), and a registered model version of the same name tagged
        `nbmodels.version`, `nbmodels.bump`, `nbmodels.bump_reason`, `nbmodels.run_id`,
        its stage as the alias of the same name. A version pushed before is found by its
        tags and nothing new is created (its alias is brought up to date). Returns an
        `MlflowPush` record. Needs MLflow (`pip install 'nbmodels[mlflow]'`)."""
        from ..interop import mlflow_push

        detail = self.version_detail(ref)
        return mlflow_push.push(self, detail, tracking_uri)

    def import_mlflow(self, model_uri: str, name: str | None = None,
                      tracking_uri: str | None = None) -> ModelVersion:
        """Register the MLflow model at `model_uri` (`models:/NAME/3`, `models:/NAME@alias`,
        `runs:/ID/model`) from the server at `tracking_uri` as a new version of `name`
        (default: its registered name, else its run's name), with its run's params and
        metrics kept in a run here; the version number is inferred as `register` infers
        it. Loading the MLflow model runs its flavour's loader, which for a pickle runs
        code: refused, as `load` refuses pickles, when `allow_pickle` is False."""
        from ..interop import mlflow_import

        return mlflow_import.import_model(self, model_uri, name, tracking_uri)

    def card(self, ref: str, format: str = "html") -> str:
        """A model card for the version `ref` names, as an HTML page (with a print
        stylesheet) or Markdown (`format="md"`): what the model is, its lineage, the data
        it was trained on (schema and statistics), params, metrics, how it compares with
        the production version, its stage history with notes, the environment and the
        object's hash. From recorded facts alone: nothing is deserialized. Every string
        from the registry is escaped."""
        if format not in CARD_FORMATS:
            raise InvalidInputError(f"unknown card format {format!r}: use "
                                    f"{' or '.join(CARD_FORMATS)}")
        from ..interop import card

        return card.render(card.gather(self, ref), format)
