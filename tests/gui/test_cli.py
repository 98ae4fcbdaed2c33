from __future__ import annotations

import subprocess
import sys

from adain_live.cli import main as cli_main
from adain_live.cli.gui_cmd import main as gui_main


def test_gui_help_lists_the_options(capsys):
    try:
        cli_main(["gui", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for opt in ("--source", "--styles", "--size", "--model", "--vgg", "--decoder", "--device", "--precision"):
        assert opt in out


def test_bad_size_is_a_one_line_error(capsys):
    assert gui_main(["--size", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--size" in err[0]


def test_cli_does_not_import_qt():
    code = "import sys, adain_live.cli as c; c.build_parser(); print('PyQt6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_record_needs_an_mp4_in_an_existing_folder(capsys, tmp_path):
    assert gui_main(["--record", str(tmp_path / "out.avi")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--record" in err[0] and ".mp4" in err[0]
    assert gui_main(["--record", str(tmp_path / "missing" / "out.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
