"""benchlib: a benchmark workbook for small language model inference.

Edge boxes (Raspberry Pi 5 + AI HAT+ 2) against cloud GPUs, measured on latency,
throughput, energy per token and cost per million tokens.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
