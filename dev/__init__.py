"""Developer tools of the nnspec repository (not shipped): regenerate derived files."""
