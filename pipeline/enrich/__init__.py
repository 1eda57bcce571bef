"""Enrichment: who and what an article is about, and who said what in it.

`analyze` is the one entry point the rest of the pipeline calls; the modules
behind it are plain functions so each rule set can be tested and measured alone.
"""

from pipeline.enrich.analyze import Analysis, analysis_to_json, analyze

__all__ = ["Analysis", "analysis_to_json", "analyze"]
