"""starlab: runnable miniatures of the data-engineering systems in the stories.

This package is the shared kernel: settings, the local stack, the event model
and generator, metric formulas, the evidence report and the CLI. Story folders
(`contracts/`, `streaming/`, `feature_cache/`, `dbt_project/`, `dags/`) import
from here; nothing here imports a story except the CLI and the demo runner.
"""

__version__ = "0.1.0"
