"""Caps that keep a hostile document harmless (documented in docs/format.md#limits).

Every cap is configurable by passing a `Limits` to `nnspec.load` / `nnspec.validate`
or with the `--max-*` options of `nnspec validate`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds checked before any large allocation happens."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 1_000_000
    max_param_elements: int = 100_000_000


DEFAULT_LIMITS = Limits()
