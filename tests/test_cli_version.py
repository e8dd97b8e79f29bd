"""``teleglas --version``: the installed package's version, on stdout, exit 0."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.cli import main


def test_version_prints_the_installed_version_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code in (0, None)
    out = capsys.readouterr()
    assert out.out == f"teleglas {version('teleglas')}\n" and out.err == ""


def test_the_console_script_answers_version():
    script = Path(sys.executable).with_name("teleglas")
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable} (package not installed with pip -e)")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"teleglas {version('teleglas')}"


def test_help_lists_version(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--version" in capsys.readouterr().out
