"""The desktop app (PyQt6): a live view, a style gallery and controls over the engine's runner.

This is the only package that imports Qt. The engine runs in worker objects moved to QThreads and talks to
the widgets through signals; no widget touches torch.
"""
