"""tap-centaur: a Singer tap for Centaur Labs labeling results."""

from tap_centaur.tap import TapCentaur

__all__ = ["TapCentaur"]
