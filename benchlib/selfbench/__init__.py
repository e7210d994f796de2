"""benchlib's own benchmarks (``make bench``, ``benchlib bench``): how much the harness adds to what it measures.

* :mod:`benchlib.selfbench.bench`: the benchmarks by name and :func:`run_benchmarks`;
* :mod:`benchlib.selfbench.fidelity`: benchlib's numbers against llama.cpp's own tools;
* :mod:`benchlib.selfbench.runtime_compare`: llama.cpp against ONNX Runtime, each in its own process;
* :mod:`benchlib.selfbench.soak`: a long http sweep at concurrency 64 (memory growth, CPU per 1k tok/s).

Not part of a sweep: nothing in the core imports this package. Import from
the modules: this package imports nothing, so that ``python -m
benchlib.selfbench.runtime_compare`` measures a process that has loaded only
what its runtime needs (its peak memory is one of the results).
"""

__all__: list[str] = []
