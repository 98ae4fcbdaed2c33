"""Training the AdaIN decoder (``python -m training.train``) and the shared data, checkpoint and log helpers.

Imports :mod:`adain_live.core` and :mod:`adain_live.errors` only; nothing in :mod:`adain_live` imports this.
"""
