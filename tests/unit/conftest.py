"""Unit tests import their shared fakes (``fakes.py``) from this folder, whichever subfolder they are in."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
