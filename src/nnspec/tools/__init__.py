"""Tools around a checked `Graph`: summary, graph drawing, plots, starting documents.

They sit after the spec pipeline (they read the `Graph`, plus the raw document only
for the graph drawing's tooltips) and never change a model.
"""
