"""The learning-rate schedule of every training command (one function, two shapes).

``python -m training.train`` uses pytorch-AdaIN's inverse decay ``lr / (1 + decay * iteration)``;
``python -m training.distill`` keeps the rate constant and then decays it along a cosine to 10% over the last
``tail`` of the run. Both are :func:`lr_at` with different arguments.
"""

from __future__ import annotations

import math

#: Where the cosine tail ends, as a fraction of the base rate.
TAIL_FLOOR = 0.1


def lr_at(base: float, iteration: int = 0, *, decay: float = 0.0, progress: float = 0.0, tail: float = 0.0) -> float:
    """Return the learning rate at ``iteration`` / ``progress`` (fraction of the run done, 0..1).

    ``decay``: inverse-decay factor per iteration (0: none). ``tail``: the last fraction of the run over which
    the rate falls from ``base`` to ``TAIL_FLOOR * base`` along a half cosine (0: none).
    """
    lr = base / (1.0 + decay * iteration)
    if tail > 0.0 and progress > 1.0 - tail:
        t = min(1.0, (progress - (1.0 - tail)) / tail)
        lr *= TAIL_FLOOR + (1.0 - TAIL_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * t))
    return lr
