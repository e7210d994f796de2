"""Results of the tools people already use, imported as benchlib runs.

* :mod:`~benchlib.importers.base`: :class:`ImportedRun` (a tool's numbers in benchlib's
  terms), :class:`MetricMapping`, :class:`Aggregate`, :class:`ImportFormatError`, :class:`Importer`;
* one module per tool: ``llama_bench``, ``vllm_bench``, ``guidellm``, ``aiperf``;
* :mod:`~benchlib.importers.registry`: the tools and ``--tool auto`` detection;
* :mod:`~benchlib.importers.writer`: run directories marked ``source: imported``.

Import from the modules; this package re-exports nothing.
"""

__all__: list[str] = []
