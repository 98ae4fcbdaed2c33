"""The one-line messages of ``load_checkpoint``, word for word: they tell a person which option to use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from adain_live.errors import UserError
from training.checkpoint import load_checkpoint


def _line(path: Path) -> str:
    with pytest.raises(UserError) as info:
        load_checkpoint(path, {})
    return str(info.value)


def test_missing_file_names_both_options(tmp_path: Path) -> None:
    p = tmp_path / "none.pt"
    assert _line(p) == f"no checkpoint at {p}; start without --resume, or point --out at the run to continue"


def test_damaged_file_names_the_error_type(tmp_path: Path) -> None:
    p = tmp_path / "bad.pt"
    p.write_bytes(b"garbage")
    assert re.fullmatch(rf"checkpoint {re.escape(str(p))} cannot be read \(\w+Error\); it may be damaged: delete it "
                        "to start over", _line(p))


def test_foreign_file_asks_for_another_out(tmp_path: Path) -> None:
    p = tmp_path / "old.pt"
    torch.save({"format": "something-else", "objects": {}}, p)
    assert _line(p) == f"{p} is not a training checkpoint of this version; start a new run with another --out"
