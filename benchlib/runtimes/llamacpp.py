"""llama.cpp in process, through llama-cpp-python, for GGUF models.

The generation loop is ours, not ``Llama.generate``: the prompt is evaluated as
one batch, then each output token is chosen from the logits and fed back, so

* exactly ``max_output_tokens`` tokens come out (end-of-generation tokens are
  masked when ``ignore_eos`` is set),
* every token gets a timestamp the moment it is chosen,
* the KV cache is cleared before every request (no prompt-prefix reuse makes
  a repeated prompt look faster than a new one), unless the cache is kept
  (:meth:`LlamaCppRuntime.keep_cache`, ``cache_prompt: on``): then, like one
  slot of llama.cpp's server, only what a prompt does not share with the
  tokens already in the cache is evaluated, and ``cached_prompt_tokens`` says
  how many were reused,
* llama.cpp's own perf counters are reset before and read after each request,
  so its prompt and decode timings sit beside ours.

Settings follow llama.cpp's own tools (``llama-server``, ``llama-bench``,
``llama-cli``), not llama-cpp-python's ``Llama`` defaults where the two differ:
flash attention ``auto`` (the binding's default is off: about 12% slower decode
for SmolLM2 on 2 x86 cores), logical batch 2048 and micro-batch 512 tokens (the
binding's batch is 512). The effective values — what llama.cpp resolved
``auto`` to, the batch sizes and threads the context really has, the KV cache
types — are read back from the context and recorded in ``run.json``.
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from typing import Any

import numpy as np

from benchlib.errors import RuntimeFailure
from benchlib.models import ModelInfo
from benchlib.runtimes.base import GenerationRequest, RuntimeTimings, TokenTrace
from benchlib.runtimes.llamacpp_log import captured_llama_log
from benchlib.runtimes.llamacpp_prompt_cache import HostPromptCache
from benchlib.runtimes.llamacpp_settings import FLASH_ATTN_MODES, LlamaCppSettings
from benchlib.runtimes.local_settings import default_threads

__all__ = ["FLASH_ATTN_MODES", "LlamaCppRuntime", "LlamaCppSettings", "default_threads"]

_GGML_TYPE_NAMES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 30: "bf16"}


def _compute_ms(perf) -> float:
    """Compute time llama.cpp has accumulated since its perf counters were reset, ms.

    llama.cpp files a one-token batch under "eval" and larger ones under "prompt
    eval" (so a one-token prompt, or the last 1-token batch of a long prompt,
    lands in "eval"), and clamps its token counts to at least 1. Its times are
    exact, so benchlib reads the total at the first output token and at the end,
    and counts tokens itself.
    """
    return float(perf.t_p_eval_ms) + float(perf.t_eval_ms)


class LlamaCppRuntime:
    """Runs a GGUF model with llama.cpp in this process.

    Args:
        model: A verified model from :func:`benchlib.models.resolve_model`.
        settings: Runtime settings.
    """

    name = "llama.cpp"

    def __init__(self, model: ModelInfo, settings: LlamaCppSettings | None = None) -> None:
        self.model = model
        self.settings = settings or LlamaCppSettings()
        self._llm = None
        self._eog_ids = np.zeros(0, dtype=np.int64)
        self._eog_set: frozenset[int] = frozenset()
        self._n_vocab = 0
        self._rng = np.random.default_rng(self.settings.seed)
        self._effective: dict[str, Any] = {}
        self._logits: np.ndarray = np.zeros(0, dtype=np.float32)
        self._logits_address = 0
        self._one_token_batch = None
        self._cached_ids: list[int] = []  # the tokens in the KV cache, in order (when it is kept)
        self._keep_cache = self.settings.cache_prompt == "on"
        self._host_cache: HostPromptCache | None = None  # made when the cache is first kept

    def keep_cache(self, workload_reuses: bool) -> None:
        """Keep the KV cache between requests when ``cache_prompt`` says so.

        Args:
            workload_reuses: True for a workload built on reuse (conversations,
                shared prefixes, context depth): ``cache_prompt: default`` then keeps it.
        """
        mode = self.settings.cache_prompt
        self._keep_cache = mode == "on" or (mode == "default" and workload_reuses)

    def _reuse(self, prompt_ids: list[int]) -> int:
        """Make the KV cache hold the longest prefix it shares with ``prompt_ids`` (at most all but one token),
        from the cache itself or from a state saved in host memory (:mod:`.llamacpp_prompt_cache`).

        Returns:
            The prompt tokens already in the cache (0 when the cache is not kept).
        """
        llm = self._llm
        if not self._keep_cache:
            llm.reset()
            self._cached_ids = []
            return 0
        if self._host_cache is None:
            self._host_cache = HostPromptCache()
        self._cached_ids, shared = self._host_cache.best_prefix(llm.ctx, self._cached_ids, prompt_ids)
        shared = min(shared, len(prompt_ids) - 1)  # the last prompt token is evaluated: its logits pick the first output
        llm.n_tokens = shared  # Llama.eval removes the cache from here on
        self._cached_ids = self._cached_ids[:shared]
        return shared

    def prime(self, text: str) -> None:
        """Put ``text`` in the KV cache, untimed (a context depth; only when the cache is kept)."""
        if not self._keep_cache or not text:
            return
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        shared = self._reuse(ids + [-1])  # -1 never matches: every token of ``text`` may be reused
        self._llm.eval(ids[shared:])
        self._cached_ids = list(ids)

    def load(self) -> None:
        """Load the model into llama.cpp.

        Raises:
            RuntimeFailure: llama.cpp could not load the file, or GPU layers were
                asked of a build without GPU support.
        """
        import llama_cpp

        if self.settings.gpu_layers and not llama_cpp.llama_supports_gpu_offload():
            raise RuntimeFailure(
                f"gpu_layers={self.settings.gpu_layers} was requested but this llama-cpp-python build has no GPU "
                "support. Set gpu_layers: 0, or reinstall llama-cpp-python with CMAKE_ARGS=-DGGML_CUDA=on."
            )
        threads = self.settings.resolved_threads()
        try:
            self._llm = llama_cpp.Llama(
                model_path=self.model.path,
                n_ctx=self.settings.context_tokens,
                n_batch=self.settings.batch_tokens,
                n_ubatch=self.settings.ubatch_tokens,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=self.settings.gpu_layers,
                flash_attn=self.settings.flash_attn == "on",
                seed=self.settings.seed,
                logits_all=False,
                verbose=False,
            )
            flash_attn = self.settings.flash_attn
            if flash_attn == "auto":
                flash_attn = self._context_with_flash_attn_auto()
        except (ValueError, RuntimeError, OSError) as exc:
            raise RuntimeFailure(f"llama.cpp could not load {self.model.path}: {exc}") from exc
        self._effective = self._read_effective_settings(flash_attn)
        vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self._n_vocab = self._llm.n_vocab()
        self._eog_set = frozenset(t for t in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t))
        self._eog_ids = np.array(sorted(self._eog_set), dtype=np.int64)

    def _context_with_flash_attn_auto(self) -> str:
        """Give the model a context with flash attention ``auto``, as llama.cpp's tools create it.

        llama-cpp-python's ``Llama`` can only ask for flash attention on or off,
        so its context is replaced by one made with ``LLAMA_FLASH_ATTN_TYPE_AUTO``
        from the same parameters. llama.cpp resolves ``auto`` while it creates
        the context and logs the outcome, which is read here.

        Returns:
            What ``auto`` became: ``on``, ``off``, or ``auto (unresolved)`` when
            llama.cpp logged nothing about it.
        """
        import llama_cpp
        from llama_cpp import _internals

        llm = self._llm
        params = llm.context_params
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
        llm._ctx.close()
        with captured_llama_log() as lines:
            context = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        llm._ctx = llm._stack.enter_context(contextlib.closing(context))
        log = "".join(lines)
        if "Flash Attention enabled" in log:
            return "on"
        if "Flash Attention not supported" in log:
            return "off"
        return "auto (unresolved)"

    def _read_effective_settings(self, flash_attn: str) -> dict[str, Any]:
        """The settings the llama.cpp context really has (after capping and ``auto``)."""
        import llama_cpp

        ctx = self._llm.ctx
        params = self._llm.context_params
        return {
            "flash_attn": flash_attn,
            "context_tokens": int(llama_cpp.llama_n_ctx(ctx)),
            "batch_tokens": int(llama_cpp.llama_n_batch(ctx)),
            "ubatch_tokens": int(llama_cpp.llama_n_ubatch(ctx)),
            "threads": int(llama_cpp.llama_n_threads(ctx)),
            "threads_batch": int(llama_cpp.llama_n_threads_batch(ctx)),
            "kv_cache_type_k": _GGML_TYPE_NAMES.get(int(params.type_k), str(int(params.type_k))),
            "kv_cache_type_v": _GGML_TYPE_NAMES.get(int(params.type_v), str(int(params.type_v))),
            "gpu_layers": self.settings.gpu_layers,
        }

    @property
    def effective_settings(self) -> dict[str, Any]:
        """Effective settings of the loaded model (empty before :meth:`load`)."""
        return dict(self._effective)

    @property
    def llm(self):
        """The underlying ``llama_cpp.Llama`` (loaded on first use)."""
        if self._llm is None:
            self.load()
        return self._llm

    def _decode_one(self, token: int, position: int) -> None:
        """Decode one token at ``position`` of sequence 0 straight through ``llama_decode``.

        ``Llama.eval`` does the same with some 10 us more Python per token, which
        the gap between decode calls turns into about 3% of the decode rate
        (see :meth:`_logits_view`). The prompt still goes through ``Llama.eval``.

        Raises:
            RuntimeFailure: llama.cpp refused the batch.
        """
        import llama_cpp

        batch = self._one_token_batch
        if batch is None:
            batch = self._one_token_batch = llama_cpp.llama_batch_init(1, 0, 1)
        batch.n_tokens = 1
        batch.token[0] = token
        batch.pos[0] = position
        batch.n_seq_id[0] = 1
        batch.seq_id[0][0] = 0
        batch.logits[0] = 1
        status = llama_cpp.llama_decode(self._llm.ctx, batch)
        if status != 0:
            raise RuntimeFailure(f"llama_decode failed with status {status} at position {position}.")

    def _logits_view(self, pointer) -> np.ndarray:
        """The last output's logits as a NumPy view, made once per buffer address.

        Every microsecond between two decode calls counts: llama.cpp's worker
        threads go to sleep while Python picks the token and must be woken for
        the next one, which costs far more than the work itself (a 25 us gap
        costs about 200 us per token on 2 cores). The view is reused while
        llama.cpp keeps its logits at the same address.
        """
        address = ctypes.addressof(pointer.contents)
        if address != self._logits_address:
            self._logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
            self._logits_address = address
        return self._logits

    def _next_token(self, ignore_eos: bool) -> int:
        import llama_cpp

        n_vocab = self._n_vocab
        logits = self._logits_view(llama_cpp.llama_get_logits_ith(self.llm.ctx, -1))
        if self.settings.temperature <= 0:
            token = int(np.argmax(logits))
            if not ignore_eos or token not in self._eog_set:
                return token
        if ignore_eos and self._eog_ids.size:
            logits = logits.copy()
            logits[self._eog_ids] = -np.inf
        if self.settings.temperature <= 0:
            return int(np.argmax(logits))
        scaled = (logits - np.max(logits)) / self.settings.temperature
        probabilities = np.exp(scaled)
        probabilities /= probabilities.sum()
        return int(self._rng.choice(n_vocab, p=probabilities))

    def generate(self, request: GenerationRequest) -> TokenTrace:
        """Generate exactly ``request.max_output_tokens`` tokens (fewer only at
        end-of-generation when ``ignore_eos`` is False).

        Raises:
            RuntimeFailure: the prompt plus output does not fit the context.
        """
        import llama_cpp

        llm = self.llm
        if request.max_output_tokens < 1:
            raise RuntimeFailure(f"max_output_tokens must be at least 1, got {request.max_output_tokens}.")
        self.prime(request.context_prefix)  # before the clock starts, as llama-bench fills the context for -d
        sent_s = time.perf_counter()
        prompt_ids = llm.tokenize(request.prompt.encode("utf-8"), add_bos=True, special=False)
        needed = len(prompt_ids) + request.max_output_tokens
        if needed > self.settings.context_tokens:
            raise RuntimeFailure(
                f"Request {request.request_id} needs {needed} tokens of context ({len(prompt_ids)} prompt + "
                f"{request.max_output_tokens} output) but context_tokens is {self.settings.context_tokens}. "
                "Raise context_tokens or shorten the prompt."
            )
        if not prompt_ids:
            raise RuntimeFailure(
                f"Request {request.request_id}: the prompt is empty after tokenization (this model adds no "
                "beginning-of-sequence token); give a non-empty prompt."
            )
        cached = self._reuse(prompt_ids)
        llama_cpp.llama_perf_context_reset(llm.ctx)
        llm.eval(prompt_ids[cached:])
        token_ids: list[int] = []
        token_times: list[float] = []
        prompt_compute_ms = 0.0
        while True:
            token = self._next_token(request.ignore_eos)
            token_times.append(time.perf_counter())
            token_ids.append(token)
            if len(token_ids) == 1:
                prompt_compute_ms = _compute_ms(llama_cpp.llama_perf_context(llm.ctx))
            if len(token_ids) >= request.max_output_tokens or (not request.ignore_eos and token in self._eog_set):
                break
            self._decode_one(token, len(prompt_ids) + len(token_ids) - 1)
        total_compute_ms = _compute_ms(llama_cpp.llama_perf_context(llm.ctx))
        # the KV cache now holds the prompt and every output token but the last (never decoded)
        self._cached_ids = list(prompt_ids) + token_ids[:-1] if self._keep_cache else []
        timings = RuntimeTimings(
            prompt_eval_s=prompt_compute_ms / 1000.0,
            prompt_eval_tokens=len(prompt_ids) - cached,
            decode_s=(total_compute_ms - prompt_compute_ms) / 1000.0,
            decode_tokens=len(token_ids) - 1,
            source="llama.cpp perf counters (llama_perf_context), split at the first output token",
        )
        text = llm.detokenize(token_ids).decode("utf-8", errors="replace")
        return TokenTrace(
            request_id=request.request_id,
            sent_s=sent_s,
            token_times_s=tuple(token_times),
            prompt_tokens=len(prompt_ids),
            token_ids=tuple(token_ids),
            text=text,
            runtime_timings=timings,
            cached_prompt_tokens=cached,
        )

    def decode_only_tps(self, tokens: int = 128, token: int = 0) -> float:
        """Decode ``tokens`` one at a time without choosing them, as ``llama-bench``'s tg test does.

        No logits are read and no token is picked between two decode calls: the
        rate of llama.cpp itself in this process, against which the cost of
        token selection in :meth:`generate` shows.

        Returns:
            Tokens per second over the ``tokens`` decode calls.
        """
        llm = self.llm
        llm.reset()
        self._cached_ids = []
        llm.eval([token])
        started = time.perf_counter()
        for position in range(1, tokens + 1):
            self._decode_one(token, position)
        return tokens / (time.perf_counter() - started)

    def info(self) -> dict[str, Any]:
        """llama.cpp version, build features and the settings in force."""
        import llama_cpp

        return {
            "runtime": self.name,
            "llama_cpp_python_version": llama_cpp.__version__,
            "system_info": llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip(),
            "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
            "threads": self.settings.resolved_threads(),
            "context_tokens": self.settings.context_tokens,
            "batch_tokens": self.settings.batch_tokens,
            "ubatch_tokens": self.settings.ubatch_tokens,
            "gpu_layers": self.settings.gpu_layers,
            "flash_attn": self.settings.flash_attn,
            "effective": self.effective_settings,
            "seed": self.settings.seed,
            "temperature": self.settings.temperature,
            "sampling": "greedy" if self.settings.temperature <= 0 else "softmax",
            "prompt_cache": ("kept between requests (one slot, prompts it loses saved in host memory as llama-server's "
                             "--cache-ram)") if self._keep_cache else "cleared before every request",
            "cache_prompt": self.settings.cache_prompt,
        }

    def close(self) -> None:
        """Free the model and its context."""
        if self._one_token_batch is not None:
            import llama_cpp

            llama_cpp.llama_batch_free(self._one_token_batch)
            self._one_token_batch = None
        if self._llm is not None:
            self._llm.close()
            self._llm = None
