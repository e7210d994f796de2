"""Numbers for hardware you don't have: the evidence library and a performance model calibrated on it.

Modules: :mod:`~benchlib.predict.evidence` (published measurements, one YAML
file per source), :mod:`~benchlib.predict.roofline` (decode step, prefill,
serving point, power), :mod:`~benchlib.predict.calibrate` (efficiencies fitted
per hardware and runtime class), :mod:`~benchlib.predict.predictor`
(predictions with intervals and basis), :mod:`~benchlib.predict.validate`
(leave-one-out over the library), :mod:`~benchlib.predict.local` (runs measured
here as observations).
"""

from benchlib.predict.calibrate import Calibration, Observation, calibrate
from benchlib.predict.evidence import EvidenceFileError, EvidenceLibrary, load_evidence
from benchlib.predict.local import LocalObservations, local_observations, observations_from_runs
from benchlib.predict.predictor import Library, Prediction, load_library, predict
from benchlib.predict.roofline import Efficiencies, HardwareSpec, Scenario, serving_point

__all__ = [
    "Calibration",
    "Efficiencies",
    "EvidenceFileError",
    "EvidenceLibrary",
    "HardwareSpec",
    "Library",
    "LocalObservations",
    "Observation",
    "Prediction",
    "Scenario",
    "calibrate",
    "load_evidence",
    "load_library",
    "local_observations",
    "observations_from_runs",
    "predict",
    "serving_point",
]
