"""Hydra's Optuna sweeper, for hparams_search=...: a study in which no trial completed ends in one
line. Optuna's `best_trial` raises a ValueError there, which Hydra would print as a traceback.
Hydra finds sweepers only in the `hydra_plugins` package, hence this module's place."""

from experiments.run.errors import NoTrialCompleted

try:
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
except ImportError:  # the search extra is not installed: there is no sweeper to extend
    OptunaSweeper = None


if OptunaSweeper is not None:

    class SearchSweeper(OptunaSweeper):
        """The Optuna sweeper, ending in one line where none of its trials completed."""

        def sweep(self, arguments):
            try:
                return super().sweep(arguments)
            except ValueError as error:
                if "No trials are completed" not in str(error):
                    raise
                raise NoTrialCompleted from None
