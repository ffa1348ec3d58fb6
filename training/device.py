"""Device selection and mixed precision, shared by every trainer and extractor in ``training/``.

``--device auto|cpu|cuda|mps`` (auto: CUDA when present, then Apple's MPS, else the CPU) and
``--precision auto|fp32|bf16|fp16``:

=========  ==============================  ===============================================
device     training (``auto``)             inference / feature extraction (``auto``)
=========  ==============================  ===============================================
cuda       fp16 autocast + GradScaler      bf16 autocast where supported, else fp16
cpu        fp32                            bf16 autocast where the CPU has native bf16
                                           (AMX / AVX512-BF16), else fp32
mps        fp32                            fp32
=========  ==============================  ===============================================

Training on the CPU stays fp32 by default (bf16 gradients change results between machines with and
without native bf16); ``--precision bf16`` opts in. Extraction uses bf16 only where the hardware has
it, because there it is 2.5x faster than fp32 and the features move by ~0.4 % (relative L2; cosine
similarity > 0.9999, measured by ``bench/training.py``); the precision is part of the feature cache key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from training.errors import TrainingInputError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bf16 convolutions and matmuls natively (AMX or AVX512-BF16)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_device(name: str = "auto", *, local_rank: int | None = None) -> torch.device:
    """The torch device for ``--device``; an unavailable one is a clear error, never a silent CPU fallback."""
    if name not in DEVICES:
        raise TrainingInputError(f"--device must be one of {', '.join(DEVICES)}, not {name!r}.")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainingInputError(
                "--device cuda: no CUDA device is visible to torch (torch.cuda.is_available() is False; "
                f"this torch is {torch.__version__}). Use --device cpu or auto."
            )
        # Without a rank: torch's current CUDA device (set per process by torchrun launches).
        return torch.device("cuda") if local_rank is None else torch.device("cuda", local_rank)
    if name == "mps" and not mps_available():
        raise TrainingInputError("--device mps: Apple's Metal backend is not available here. Use --device cpu or auto.")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device, *, training: bool = True) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for ``--precision`` on ``device`` (see the module table for ``auto``)."""
    if name not in PRECISIONS:
        raise TrainingInputError(f"--precision must be one of {', '.join(PRECISIONS)}, not {name!r}.")
    if name == "auto":
        if device.type == "cuda":
            if training:
                return "fp16"
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu" and not training and cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if name == "fp16" and device.type == "cpu":
        raise TrainingInputError("--precision fp16 needs a GPU; on the CPU use bf16 or fp32.")
    return name


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for a reduced precision, a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_DTYPES[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """Loss scaling for fp16 (bf16 and fp32 have fp32's exponent range and need none): disabled otherwise."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16" and device.type == "cuda")


def loader_options(device: torch.device, workers: int) -> dict:
    """``DataLoader`` keyword arguments: worker processes and pinned host memory for fast GPU copies."""
    if workers < 0:
        raise TrainingInputError(f"--workers must be 0 or more, not {workers}.")
    options: dict = {"num_workers": workers, "pin_memory": device.type == "cuda"}
    if workers > 0:
        options["persistent_workers"] = True
    return options


def describe(device: torch.device, precision: str) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}), {precision}"
    return f"{device}, {precision}"


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """Run a block with ``count`` intra-op CPU threads (0: every core)."""
    import os

    previous = torch.get_num_threads()
    torch.set_num_threads(count if count > 0 else (os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
