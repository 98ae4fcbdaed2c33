"""Fixtures for CLI tests: the canonical random-weight pair installed as the default model."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def model_args(canonical_files: tuple[Path, Path]) -> list[str]:
    vgg, dec = canonical_files
    return ["--vgg", str(vgg), "--decoder", str(dec), "--device", "cpu"]
