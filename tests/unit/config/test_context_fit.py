"""A request longer than a local runtime's context is refused with the parameters, before any kernel starts.

Issue 25, smaller point: ``output_tokens`` over ``context_tokens`` was caught only inside the kernel, leaving a
``failed`` run folder.
"""

import pytest

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.paths import params_dir


def _config(**values):
    return SweepConfig.from_mapping({"runtime": "llama.cpp", "model": "smollm2-135m-q4_1", "prompts": "tiny", **values})


def test_output_alone_longer_than_the_context_is_refused_with_the_fix():
    with pytest.raises(ParameterError, match=r"needs 3001 tokens of context \(at least 1 prompt \+ 3000 output\) but "
                                             r"context_tokens is 2048: raise context_tokens to at least 3001"):  # fmt: skip
        _config(output_tokens=3000)
    _config(output_tokens=2047)  # one prompt token still fits


def test_a_synthetic_prompt_counts_its_own_length():
    with pytest.raises(ParameterError, match=r"needs 2100 tokens of context \(2000 prompt \+ 100 output\)"):
        _config(prompts="synthetic", prompt_tokens=2000, output_tokens=100)
    _config(prompts="synthetic", prompt_tokens=2000, output_tokens=100, context_tokens=2100)


def test_a_server_keeps_its_own_context():
    SweepConfig.from_mapping({"runtime": "http", "url": "http://127.0.0.1:9", "model": "m", "output_tokens": 5000})


def test_the_sweep_command_exits_2_and_writes_nothing(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["sweep", str(params_dir() / "smoke.yaml"), "--set", "output_tokens=3000", "--set", f"output_dir={runs}"]) == 2
    assert "raise context_tokens to at least 3001" in capsys.readouterr().err
    assert not runs.exists()
