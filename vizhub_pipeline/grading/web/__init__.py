"""The grader: a local web app where experts score model outputs, blind and fast.

``vizhub grade`` starts it. It reads outputs through :mod:`vizhub_pipeline.core.records`,
challenges through :mod:`vizhub_pipeline.core.challenges`, and reads and writes grades only
through :mod:`vizhub_pipeline.grading.loading` and :mod:`vizhub_pipeline.grading.submit`.
Generated pages are untrusted: they are served by a second, sandboxed origin
(:mod:`vizhub_pipeline.grading.web.sandbox`).
"""
