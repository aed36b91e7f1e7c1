"""Overviews of a `Graph`: its document-level layers and the summary table.

Sits just above `nnspec.printer` and below the engines, so that `Model.summary()`
(interpreter), ``nnspec summary`` (cli) and the graph drawing (tools) all read the
same rows from one place.
"""
