"""``bench`` refuses bad numbers before any pass runs (issue 15)."""

from __future__ import annotations

import pytest

from adain_live.cli import main
from adain_live.engine import bench


@pytest.mark.parametrize("bad", [["--tile", "-1"], ["--tile", "7"], ["--max-memory-gb", "-1"],
                                 ["--max-memory-gb", "nan"], ["--max-memory-gb", "inf"]])
def test_bad_numbers_are_refused_before_running(bad: list[str], monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("a pass ran before the arguments were checked"))
    assert main(["bench", "--sizes", "64x64", "--frames", "1", "--device", "cpu", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and bad[0] in err[0] and "--size " not in err[0], err
