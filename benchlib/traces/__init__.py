"""Recorded LLM traffic traces to replay (a sweep's ``trace: FILE``).

* :mod:`~benchlib.traces.reader`: :func:`read_trace`, :class:`Trace`, :class:`TraceRequest`, the public
  layouts it recognises (:data:`LAYOUTS`) and :data:`TRACE_FIELDS`;
* :mod:`~benchlib.traces.example`: the seeded generator of the small SYNTHETIC example trace
  ``data/traces/example-synthetic.csv`` (``python -m benchlib.traces.example --out FILE``).
"""

from benchlib.traces.reader import LAYOUTS, TRACE_FIELDS, Trace, TraceRequest, read_trace

__all__ = ["LAYOUTS", "TRACE_FIELDS", "Trace", "TraceRequest", "read_trace"]
