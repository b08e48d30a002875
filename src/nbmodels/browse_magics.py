"""The browsing magics: `%compare` and `%models`.

Each parses its line, makes one `Registry` call and displays a view from
`nbmodels.widgets`. `NbModelsError` becomes a one-line `UsageError`.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .magics import RegistryMagics, expression, parse, user_errors
from .magics.parsing import evaluate


@magics_class
class BrowseMagics(RegistryMagics):

    @magic_arguments()
    @argument("refs", nargs="+", metavar="REF",
              help="Two or more run ids, NAME@1.2.0, NAME@production ...; or one model NAME "
                   "for all its versions. The same REF twice compares it with itself.")
    @argument("--on", nargs=2, metavar=("X", "Y"),
              help="Score every model on these features and true targets (variables or "
                   "expressions: --on d.data d.target) and show how often their "
                   "predictions disagree.")
    @argument("--no-chart", action="store_true", help="Leave out the metric charts.")
    @line_magic
    @user_errors
    def compare(self, line):
        """Compare runs or model versions: params, metrics (better/worse), code diff, data
        schema and statistics, packages, model type and size.

        Examples::

            %compare breast-cancer@1.0.0 breast-cancer@1.1.0
            %compare breast-cancer                      # every version, with metric charts
            %compare breast-cancer@production breast-cancer@latest --on X_test y_test
        """
        from IPython.display import display

        from .widgets import CompareView

        args = parse(BrowseMagics.compare, line)
        on = tuple(evaluate(self.shell, expression(value, line), "--on")
                   for value in args.on) if args.on else None
        comparison = self.registry.compare(*args.refs, on=on)
        display(CompareView(comparison, chart=False if args.no_chart else None))

    @magic_arguments()
    @argument("name", nargs="?", help="Open the browser on this model.")
    @argument("--page-size", type=int, default=50, help="Versions per page (default 50).")
    @line_magic
    @user_errors
    def models(self, line):
        """Browse the registry: search, versions, details, compare, restore, change stages.

        Example::

            %models breast-cancer
        """
        from IPython.display import display

        from .widgets import ModelsBrowser

        args = parse(BrowseMagics.models, line)
        if args.page_size < 1:
            raise UsageError("--page-size must be 1 or more")
        registry = self.registry
        if args.name:
            registry.count_versions(args.name)  # NotFoundError with "did you mean" for a typo
        display(ModelsBrowser(registry, self.shell.user_ns, name=args.name,
                              page_size=args.page_size))
