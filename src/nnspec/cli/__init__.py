"""The ``nnspec`` command line: one module per command, chosen from a table."""
