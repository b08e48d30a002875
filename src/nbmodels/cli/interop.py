"""`nbmodels export`, `nbmodels import`, `nbmodels card`: MLflow models out and in, and
model cards. (`nbmodels push REF --mlflow URI` is the `push` command's, which calls
`Registry.push_to_mlflow`.)"""

from __future__ import annotations

from pathlib import Path

from ..registry.interop import CARD_FORMATS, EXPORT_FORMATS
from .output import pick, print_json


def add_commands(command) -> None:
    """Add `export`, `import` and `card` to the CLI (see `COMMAND_MODULES`)."""
    export = command("export", "Write a model version as an MLflow model folder (MLmodel, "
                               "the model file, requirements, signature).", _export)
    export.add_argument("ref", help="NAME@VERSION, NAME@STAGE or NAME (the latest).")
    export.add_argument("dir", help="A new (or empty) folder.")
    export.add_argument("--format", default="mlflow", choices=EXPORT_FORMATS)

    imported = command("import", "Register an MLflow model (models:/NAME/3, runs:/ID/model) "
                                 "as a new version, with its run's params and metrics.",
                       _import)
    imported.add_argument("model_uri", metavar="MLFLOW_MODEL_URI")
    imported.add_argument("name", nargs="?", help="Model name here (default: MLflow's).")
    imported.add_argument("--mlflow", dest="tracking_uri", metavar="URI", required=True,
                          help="The MLflow tracking server, e.g. http://127.0.0.1:5000.")

    card = command("card", "Write a model card (HTML or Markdown) for a model version.", _card)
    card.add_argument("ref", help="NAME@VERSION, NAME@STAGE or NAME (the latest).")
    card.add_argument("--format", default="html", choices=CARD_FORMATS)
    card.add_argument("-o", "--output", metavar="FILE", help="Write the card to FILE "
                                                             "(default: standard output).")


def _export(registry, args) -> int:
    folder = registry.export(args.ref, args.dir, format=args.format)
    ref = registry.get(args.ref).ref  # NAME@production -> the version it named
    if args.json:
        print_json({"ref": ref, "dir": str(folder), "format": args.format})
    else:
        print(f"exported {ref} to {folder} ({args.format})")
    return 0


def _import(registry, args) -> int:
    from . import VERSION_KEYS

    version = registry.import_mlflow(args.model_uri, args.name, tracking_uri=args.tracking_uri)
    if args.json:
        print_json(pick(version.to_dict(), VERSION_KEYS))
    else:
        made = "registered" if version.created else "already registered as"
        print(f"{made} {version.ref} from {args.model_uri} ({version.bump}: "
              f"{version.bump_reason})")
    return 0


def _card(registry, args) -> int:
    text = registry.card(args.ref, format=args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        if args.json:
            print_json({"ref": registry.get(args.ref).ref, "output": args.output,
                        "format": args.format})
        else:
            print(f"wrote the card of {registry.get(args.ref).ref} to {args.output}")
    else:
        print(text, end="")
    return 0
