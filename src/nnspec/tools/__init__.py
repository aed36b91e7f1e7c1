"""Tools around a checked `Graph`: graph drawing, plots, starting documents.

They sit after the spec pipeline (they read the `Graph`, plus the raw document only
for the graph drawing's tooltips) and never change a model. The summary table and
the document-level layers it shares with the drawing live lower, in
`nnspec.overview`, so `Model.summary()` can use them too.
"""
