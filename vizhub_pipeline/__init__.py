"""vizhub-pipeline: benchmark AI code editing on data visualizations, grade it, export preferences."""

__version__ = "0.1.0"
