"""`nbmodels remote add|list|remove`, `push`, `pull`, `clone`: team registries (SPEC §7),
and `push REF --mlflow URI` (SPEC §8, done by `Registry.push_to_mlflow`)."""

from __future__ import annotations

import sys

from .output import emit, print_json

EXIT_DAMAGE = 2


def add_commands(command) -> None:
    """Add `remote`, `push`, `pull` and `clone` to the CLI (see `COMMAND_MODULES`)."""
    remote = command("remote", "Add, list or remove the remotes this registry shares "
                               "through (only URLs are kept, never credentials).", _remote)
    actions = remote.add_subparsers(dest="action", required=True, parser_class=type(remote))
    add = actions.add_parser("add", help="Add a remote.", description="Add a remote.")
    add.add_argument("name")
    add.add_argument("url", help="s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX, "
                                 "file:///PATH or a folder path")
    actions.add_parser("list", help="List the remotes.", description="List the remotes.")
    remove = actions.add_parser("remove", help="Forget a remote (nothing on it changes).",
                                description="Forget a remote (nothing on it changes).")
    remove.add_argument("name")
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="Print JSON for machines.")

    push = command("push", "Upload versions (default: all) with their runs, lineage, stage "
                           "changes and objects; only what the remote lacks moves. Exit 1 on "
                           "a version-number conflict.", _push)
    push.add_argument("targets", nargs="*", metavar="[REMOTE] [NAME[@VERSION]]",
                      help="A remote (default: the only one, else origin), then models or "
                           "versions.")
    push.add_argument("--mlflow", metavar="TRACKING_URI",
                      help="Publish each REF to this MLflow tracking server instead.")
    pull = command("pull", "Download versions (default: every model) with their runs, stage "
                           "changes and objects, each object hash-checked.", _pull)
    pull.add_argument("targets", nargs="*", metavar="[REMOTE] [NAME]",
                      help="A remote (default: the only one, else origin), then models.")
    pull.add_argument("--no-objects", action="store_true",
                      help="Records only: objects are fetched when first loaded.")
    clone = command("clone", "Make DIR/.nbmodels a registry with everything from URL, which "
                             "it records as remote origin.", _clone)
    clone.add_argument("url")
    clone.add_argument("dir", nargs="?", help="Default: the working directory.")
    clone.add_argument("--no-objects", action="store_true",
                       help="Records only: objects are fetched when first loaded.")


def _remote(registry, args) -> int:
    if args.action == "add":
        remote = registry.add_remote(args.name, args.url)
        if args.json:
            print_json(remote.to_dict())
        else:
            print(f"added remote {remote.name}: {remote.url}")
        return 0
    if args.action == "remove":
        registry.remove_remote(args.name)
        if not args.json:
            print(f"removed remote {args.name}")
        else:
            print_json({"removed": args.name})
        return 0
    return emit(args, [r.to_dict() for r in registry.list_remotes()], ["name", "url", "added_at"])


def _split(registry, targets: list[str]) -> tuple[str | None, list[str]]:
    """`[REMOTE] [NAME...]`: the first word is a remote when this registry has one so named."""
    remotes = {r.name for r in registry.list_remotes()}
    if targets and targets[0] in remotes:
        return targets[0], targets[1:]
    return None, targets


def _report(args, report) -> int:
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    for line in [*report.replaced, *report.conflicts, *report.damage]:
        print(line, file=sys.stdout if args.json else sys.stderr)
    if report.damage:
        return EXIT_DAMAGE
    return 1 if report.conflicts else 0


def _push(registry, args) -> int:
    if args.mlflow:
        return _push_mlflow(registry, args)
    from ..progress import Bar

    remote, refs = _split(registry, args.targets)
    with Bar("push", unit="object", tty_only=True) as bar:
        report = registry.push(remote, refs, progress=bar)
    return _report(args, report)


def _push_mlflow(registry, args) -> int:
    from ..errors import InvalidInputError

    if not args.targets:
        raise InvalidInputError("give the REF(s) to publish: nbmodels push NAME@VERSION "
                                "--mlflow TRACKING_URI")
    results = [registry.push_to_mlflow(ref, args.mlflow) for ref in args.targets]
    if args.json:
        print_json([r.to_dict() for r in results])
    else:
        for result in results:
            found = result.to_dict()
            print(f"{found.get('ref')} -> MLflow model {found.get('name')} version "
                  f"{found.get('version')} (run {found.get('run_id')})"
                  + ("" if found.get("created", True) else ": already there, nothing made"))
    return 0


def _pull(registry, args) -> int:
    from ..progress import Bar

    remote, names = _split(registry, args.targets)
    with Bar("pull", unit="object", tty_only=True) as bar:
        report = registry.pull(remote, names, objects=not args.no_objects, progress=bar)
    return _report(args, report)


def _clone(registry, args) -> int:
    cloned = type(registry).clone(args.url, args.dir, objects=not args.no_objects)
    try:
        code = _report(args, cloned.last_pull)
        if not args.json:
            print(f"cloned into {cloned.home}")
        return code
    finally:
        cloned.close()
