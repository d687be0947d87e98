"""The generate stage: every model edits every challenge's starter files (``visualizations/``)."""

from vizhub_pipeline.generate import baselines  # noqa: F401  (registers the baseline/ provider)
