"""``benchlib predict``: the predicted serving curve of a device x model, with intervals and basis.

Runs measured here (``--runs-dir``) join the calibration, and their device
(``this-machine-Nt``) can be predicted like any other. A device is a
``hardware.yaml`` id, or its figures (``--bandwidth-gb-s``,
``--peak-tflops``, ``--memory-gb``, ``--power-w``, ``--hardware-class``); a model
is ``MODEL-QUANTIZATION`` of ``models.yaml`` (``llama-3.1-8b-q4_k_m``), or its
geometry (``--parameters``, ``--layers``, ``--kv-heads``, ``--head-dim`` ...).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from benchlib.errors import ParameterError
from benchlib.hardware.model_reference import ModelGeometry, ModelsReference
from benchlib.hardware.reference import HARDWARE_CLASSES
from benchlib.predict.evidence import RUNTIME_CLASSES
from benchlib.models import CATALOGUE
from benchlib.predict.local import local_observations
from benchlib.predict.local_model import ModelResolver, model_geometry_of
from benchlib.predict.predictor import Library, Prediction, load_library, predict
from benchlib.predict.roofline import DEFAULT_OUTPUT_TOKENS, DEFAULT_PROMPT_TOKENS, HardwareSpec, Scenario

__all__ = ["DEFAULT_RUNTIME_CLASS", "add_predict_parser", "format_prediction", "parse_model", "run_predict"]

DEFAULT_RUNTIME_CLASS = {"cpu-arm": "llama.cpp", "cpu-x86": "llama.cpp", "apple-silicon": "llama.cpp",
                         "npu": "hailo", "gpu-datacenter": "vllm", "gpu-consumer": "llama.cpp"}  # fmt: skip
"""The runtime class predicted when none is named: what such a device usually serves with."""
_HARDWARE_FIGURES = ("bandwidth_gb_s", "peak_tflops", "memory_gb", "power_w", "idle_power_w")
_GEOMETRY = ("parameters", "layers", "heads", "kv_heads", "head_dim", "bits_per_weight")


def add_predict_parser(commands: Any) -> None:
    """Register ``benchlib predict`` on the command line's subparsers."""
    parser = commands.add_parser(
        "predict", help="predict latency, throughput and J/token of a model on a device, with intervals and basis")
    parser.add_argument("--hardware", metavar="ID", help="a hardware.yaml id (e.g. raspberry-pi-5), or a label for "
                        "figures given below")  # fmt: skip
    parser.add_argument("--model", metavar="MODEL-QUANT", help="a models.yaml model and quantization, e.g. "
                        "llama-3.1-8b-q4_k_m, or a label for a geometry given below")  # fmt: skip
    parser.add_argument("--runtime-class", choices=RUNTIME_CLASSES, default=None,
                        help="runtime family (default: llama.cpp on CPUs and Apple, vllm on datacenter GPUs, hailo on NPUs)")
    parser.add_argument("--concurrency", default="1", metavar="N[,N...]", help="closed-loop clients (default 1)")
    parser.add_argument("--prompt-tokens", type=int, default=DEFAULT_PROMPT_TOKENS)
    parser.add_argument("--output-tokens", type=int, default=DEFAULT_OUTPUT_TOKENS)
    parser.add_argument("--context-tokens", type=int, default=0, help="tokens already in context (default 0)")
    figures = parser.add_argument_group("a device not in hardware.yaml (or overriding its figures)")
    figures.add_argument("--hardware-class", choices=HARDWARE_CLASSES, default=None)
    figures.add_argument("--bandwidth-gb-s", type=float, default=None, metavar="GB/S")
    figures.add_argument("--peak-tflops", type=float, default=None, metavar="TFLOPS",
                         help="GPUs: dense FP16 tensor; CPUs: FP32 vector; NPUs: INT8 TOPS")
    figures.add_argument("--memory-gb", type=float, default=None, metavar="GB")
    figures.add_argument("--power-w", type=float, default=None, metavar="W", help="board power or TDP")
    figures.add_argument("--idle-power-w", type=float, default=None, metavar="W")
    geometry = parser.add_argument_group("a model not in models.yaml")
    geometry.add_argument("--parameters", type=float, default=None, help="total parameters, e.g. 8.03e9")
    geometry.add_argument("--embedding-parameters", type=float, default=0.0, help="token-embedding parameters")
    geometry.add_argument("--tied-embeddings", action="store_true", help="the output matrix is the embedding table")
    geometry.add_argument("--layers", type=int, default=None)
    geometry.add_argument("--heads", type=int, default=None)
    geometry.add_argument("--kv-heads", type=int, default=None)
    geometry.add_argument("--head-dim", type=int, default=None)
    geometry.add_argument("--bits-per-weight", type=float, default=None, help="average, e.g. 4.85 for Q4_K_M")
    geometry.add_argument("--kv-element-bytes", type=float, default=2.0, help="bytes per cached K/V element (f16: 2)")
    parser.add_argument("--runs-dir", default=None, metavar="DIR",
                        help="also calibrate on the runs measured here under DIR (their device: this-machine-Nt, "
                             "N threads), e.g. data/runs")  # fmt: skip
    parser.add_argument("--server-threads", type=int, default=None, metavar="N",
                        help="the -t of the llama-server the http runs under --runs-dir measured")
    parser.add_argument("--json", action="store_true", help="print the prediction as JSON")
    parser.set_defaults(func=run_predict)


def parse_model(text: str, models: ModelsReference) -> tuple[str, str]:
    """``MODEL-QUANT`` -> (model id, quantization), matching the longest known model id.

    Raises:
        ParameterError: no known model and quantization make up ``text`` (both lists are given).
    """
    for model_id in sorted(models.models, key=len, reverse=True):
        if text.startswith(model_id + "-") and text[len(model_id) + 1:] in models.quantizations:
            return model_id, text[len(model_id) + 1:]
    raise ParameterError(
        f"--model '{text}' is not MODEL-QUANTIZATION of models.yaml; models: {', '.join(sorted(models.models))}; "
        f"quantizations: {', '.join(sorted(models.quantizations))} (or give --parameters, --layers, --heads, "
        "--kv-heads, --head-dim and --bits-per-weight)"
    )


def _concurrencies(text: str) -> list[int]:
    try:
        values = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise ParameterError(f"--concurrency takes whole numbers >= 1 separated by commas (1,4,16), got '{text}'")
    return values


def _hardware(args: argparse.Namespace, library: Library,
              measured: dict[str, HardwareSpec]) -> tuple[str, HardwareSpec]:  # fmt: skip
    given = {name: getattr(args, name) for name in _HARDWARE_FIGURES if getattr(args, name) is not None}
    if args.hardware in library.hardware.hardware or args.hardware in measured:
        spec = measured.get(args.hardware) or library.spec(args.hardware)
        if given or args.hardware_class:
            overrides = ", ".join(f"{k}={v:g}" for k, v in given.items())
            spec = HardwareSpec(**{**spec.to_dict(), **given, "hardware_class": args.hardware_class or spec.hardware_class,
                                   "basis": f"{spec.basis}, with {overrides or 'hardware class'} given on the command line"})  # fmt: skip
        return args.hardware, spec
    known = ", ".join(sorted([*library.hardware.hardware, *measured]))
    if not given:
        what = f"'{args.hardware}' is not in hardware.yaml" if args.hardware else "no --hardware given"
        raise ParameterError(f"{what}; known: {known}; or give the device's figures "
                             "(--hardware-class, --bandwidth-gb-s, --peak-tflops, --memory-gb, --power-w)")  # fmt: skip
    missing = [f"--{n.replace('_', '-')}" for n in ("hardware_class", "bandwidth_gb_s") if getattr(args, n) is None]
    if missing:
        raise ParameterError(f"a device given by its figures needs {' and '.join(missing)} (classes: "
                             f"{', '.join(HARDWARE_CLASSES)})")  # fmt: skip
    name = args.hardware or "custom device"
    spec = HardwareSpec(name=name, hardware_class=args.hardware_class, bandwidth_gb_s=args.bandwidth_gb_s,
                        peak_tflops=args.peak_tflops, memory_gb=args.memory_gb, power_w=args.power_w,
                        idle_power_w=args.idle_power_w, basis="figures given on the command line")  # fmt: skip
    return name, spec


def _model(args: argparse.Namespace, library: Library) -> ModelGeometry:
    if any(getattr(args, name) is not None for name in _GEOMETRY):
        missing = [f"--{n.replace('_', '-')}" for n in _GEOMETRY if getattr(args, n) is None]
        if missing:
            raise ParameterError(f"a model given by its geometry also needs {', '.join(missing)}")
        return ModelGeometry(
            name=args.model or "custom model", parameters=args.parameters, embedding_parameters=args.embedding_parameters,
            tied_embeddings=args.tied_embeddings, block_count=args.layers, head_count=args.heads,
            head_count_kv=args.kv_heads, head_dim=args.head_dim, bits_per_weight=args.bits_per_weight,
            kv_element_bytes=args.kv_element_bytes,
        )  # fmt: skip
    if not args.model:
        raise ParameterError("give --model MODEL-QUANT (e.g. llama-3.1-8b-q4_k_m) or the model's geometry")
    if args.model in CATALOGUE:  # a model benchlib ships: its GGUF's own bytes, not the quantization's average
        resolver = ModelResolver(library.models)
        return model_geometry_of({"model": resolver.info(args.model), "parameters": {"model": args.model}}, resolver)
    model_id, quantization = parse_model(args.model, library.models)
    return library.models.geometry(model_id, quantization, kv_element_bytes=args.kv_element_bytes)


def _number(value: float, interval: tuple[float, float], scale: float = 1.0, digits: str = ".3g") -> str:
    if not math.isfinite(value):
        return "n/a"
    low, high = interval
    return f"{value * scale:{digits}} [{low * scale:{digits}}, {high * scale:{digits}}]"


def format_prediction(prediction: Prediction) -> str:
    """The prediction as a table with its basis, for the terminal."""
    lines = [
        f"{prediction.model.name} on {prediction.hardware_id} ({prediction.hardware.hardware_class}), "
        f"runtime class {prediction.runtime_class}; prompt {prediction.scenario.prompt_tokens}, output "
        f"{prediction.scenario.output_tokens}, context {prediction.scenario.context_tokens} tokens",
        f"{'clients':>7} {'batch':>5}  {'TPOT ms':<24} {'TTFT s':<24} {'output tok/s':<26} {'J/token':<24} bound",
    ]
    for item in prediction.points:
        p, iv = item.point, item.intervals
        lines.append(
            f"{p.concurrency:>7} {p.batch:>5}  {_number(p.tpot_s, iv['tpot_s'], 1e3):<24} "
            f"{_number(p.ttft_s, iv['ttft_s']):<24} {_number(p.output_tps, iv['output_tps']):<26} "
            f"{_number(p.j_per_token, iv['j_per_token']):<24} {p.bound}" + (f"  ({p.limit})" if p.limit else "")
        )
    basis = prediction.basis()
    eff = ", ".join(f"{k} {v:.3g}" for k, v in basis["efficiencies"].items())
    lines += [
        "basis: predicted by benchlib.predict (roofline: memory vs compute per decode step + overhead; "
        "prefill compute-bound); [low, high] is a 95% interval",
        f"  hardware: {prediction.hardware.basis}",
        f"  model: weights {prediction.model.weight_bytes / 1e9:.2f} GB, read per token "
        f"{prediction.model.weight_bytes_read_per_token / 1e9:.2f} GB, KV {prediction.model.kv_bytes_per_token / 1e3:.0f} kB/token",
        f"  calibration: {prediction.calibration_level}, {prediction.calibration_points} observations; efficiencies: {eff}",
        f"  interval: {prediction.interval_basis}",
    ]
    if prediction.to_narrow():
        lines.append(f"  to narrow it: {prediction.to_narrow()}")
    return "\n".join(lines)


def run_predict(args: argparse.Namespace) -> int:
    """The ``benchlib predict`` command."""
    concurrencies = _concurrencies(args.concurrency)
    for name in ("prompt_tokens", "output_tokens", "context_tokens"):
        if getattr(args, name) < (1 if name == "output_tokens" else 0):
            raise ParameterError(f"--{name.replace('_', '-')} must be >= {1 if name == 'output_tokens' else 0}")
    library = load_library()
    local = local_observations(args.runs_dir, server_threads=args.server_threads).observations if args.runs_dir else []
    hardware_id, hardware = _hardware(args, library, {obs.hardware_id: obs.hardware for obs in local})
    model = _model(args, library)
    runtime_class = args.runtime_class or DEFAULT_RUNTIME_CLASS[hardware.hardware_class]
    if not hardware.bandwidth_gb_s:
        raise ParameterError(f"{hardware_id} has no published memory bandwidth; give --bandwidth-gb-s")
    scenario = Scenario(args.prompt_tokens, args.output_tokens, args.context_tokens)
    prediction = predict(library.calibration(local), hardware, hardware_id, model, runtime_class, scenario,
                         concurrencies)  # fmt: skip
    print(json.dumps(prediction.to_dict(), indent=2) if args.json else format_prediction(prediction))
    return 0
