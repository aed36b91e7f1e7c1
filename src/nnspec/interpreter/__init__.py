"""The NumPy interpreter: plan once, run forward, differentiate in reverse, train.

Pipeline inside this package: `init` (param values) → `plan` (slots, pruned steps)
→ `forward` / `backward` (the loops) → `model` (the public `Model`) → `optimizers`
and `train` (gradient descent over data).
"""

from nnspec.interpreter.model import Model, Params

__all__ = ["Model", "Params"]
