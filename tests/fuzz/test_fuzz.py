"""A short fuzz run: damaged images, videos and weights through the CLI give only allowed outcomes (issue 15).

The long run is ``python benchmarks/fuzz.py --cases 500``.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("adain_fuzz", ROOT / "benchmarks" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz()


@pytest.mark.parametrize("kind", fuzz.MUTATIONS)
def test_mutations_change_the_bytes_deterministically(kind: str) -> None:
    data = bytes(range(256)) * 8
    a, b = (fuzz.mutate(data, kind, random.Random(5)) for _ in range(2))
    assert a == b and a != data


def test_judge_flags_what_is_not_allowed(tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    case = fuzz.Case(0, "stylize", "x", "flip", [], rc=1, stderr="Traceback (most recent call last):\n ...")
    assert fuzz.judge(case, out, fuzz.image_ok, tmp_path) == "BAD: traceback"
    case.rc, case.stderr = 2, "adain-live: error: one\nadain-live: error: two\n"
    assert fuzz.judge(case, out, fuzz.image_ok, tmp_path).startswith("BAD: exit 2 with 2 lines")
    out.write_bytes(b"\x89PNG half")
    case.rc, case.stderr = 0, ""
    assert fuzz.judge(case, out, fuzz.image_ok, tmp_path).startswith("BAD: exit 0 and o.png does not decode")
    case.rc = None
    assert fuzz.judge(case, out, fuzz.image_ok, tmp_path) == "BAD: hang (timeout)"


def test_short_fuzz_run(tmp_path: Path) -> None:
    # "spawn": a fresh `python -m adain_live` per case. Forking this pytest process, whose earlier tests (in random
    # order) may have started torch's OpenMP threads, can leave the child deadlocked: a hang of the harness, not ours.
    cases = fuzz.run_cases(3, seed=7, size=32, timeout=120, mode="spawn", work=tmp_path)
    assert [c.target for c in cases] == list(fuzz.TARGETS)
    assert [c.outcome for c in cases if c.outcome.startswith("BAD")] == [], [c.stderr for c in cases]
