"""Enrichment: who and what an article is about, and who said what in it.

`pipeline.enrich.analyze.analyze` is the one entry point the rest of the pipeline
calls; the modules behind it are plain functions so each rule set can be tested and
measured alone. Nothing is imported here: reading commands use
`pipeline.enrich.statements` and must not load spaCy through the package.
"""
