"""The fuzz modules import each other as ``tests.fuzz.*`` (as ``python -m tests.fuzz`` does):
make the repository root importable however pytest was started."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
