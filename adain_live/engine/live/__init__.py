"""The live loop in parts with one job each (see :mod:`adain_live.engine.live.types` for what they share)."""
