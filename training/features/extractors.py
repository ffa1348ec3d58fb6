"""The frozen backbones as feature extractors: one media file in, a (T, D) array out.

    rgb          ResNet-50 on RGB frames sampled at ``rgb_fps``                       -> (frames, 2048)
    flow         flow ResNet-50 on stacks of 10 optical-flow pairs (20 channels)    -> (stacks, 2048)
    i3d-flow     I3D flow stream on ``i3d_frames`` consecutive frames                -> (1, 1024)
    vggish       VGGish on 0.96 s log-mel examples                                  -> (examples, 128)

Langlois' "two-stream" variant uses rgb + flow for the clip, the "i3d" variant rgb + i3d-flow
(the paper's I3D replaces the flow ResNet with I3D's flow stream); both use vggish for the excerpts.

Everything that changes an output goes into ``config()`` and so into the cache key: the sampling
settings and the sha256 of each weights file (or ``random-init`` with its seed). Backbones are built
lazily, so a fully cached run never loads a network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from mvfit_common.files import sha256_of
from training.errors import TrainingInputError
from training.features.store import Stream

VARIANTS = ("two-stream", "i3d")
RANDOM_INIT_SEED = 0


@dataclass(frozen=True)
class BackboneSettings:
    """Weights files and input sampling for the feature extractors (CLI flags / environment)."""

    resnet50: str | None = None
    i3d_flow: str | None = None
    vggish: str | None = None
    vggish_pca: str | None = None
    random_init: bool = False
    frame_size: int = 224
    rgb_fps: float = 1.0
    rgb_max_frames: int = 16
    flow_fps: float = 25.0
    flow_stacks: int = 1
    flow_method: str = "auto"
    i3d_frames: int = 32
    # One thread by default: on a shared machine a second OpenMP thread mostly spins waiting for a core
    # (measured 2-7x slower under load); on a dedicated multi-core machine raise it (0 = every core).
    threads: int = 1

    @classmethod
    def from_env(cls, **overrides) -> BackboneSettings:
        """Weights paths from MVFIT_*_WEIGHTS (docs/training-backbones.md) unless given explicitly."""
        from training.weights import WeightPaths

        paths = WeightPaths.from_env()
        defaults = {
            "resnet50": str(paths.resnet50) if paths.resnet50 else None,
            "i3d_flow": str(paths.i3d_flow) if paths.i3d_flow else None,
            "vggish": str(paths.vggish) if paths.vggish else None,
            "vggish_pca": str(paths.vggish_pca) if paths.vggish_pca else None,
        }
        explicit = {key: value for key, value in overrides.items() if value is not None}
        return cls(**{**defaults, **explicit})

    def to_dict(self) -> dict:
        return asdict(self)


def _weights_identity(path: str | None, what: str, env_var: str, settings: BackboneSettings) -> str:
    if path is None:
        if not settings.random_init:
            raise TrainingInputError(
                f"no {what} weights configured: set {env_var} (see docs/training-backbones.md) or pass the "
                "weights flag; use --random-init only for smoke tests (random features carry no ImageNet/AudioSet knowledge)."
            )
        return f"random-init:{RANDOM_INIT_SEED}"
    file = Path(path)
    if not file.is_file():
        raise TrainingInputError(f"{what} weights file {file} does not exist.")
    return f"sha256:{sha256_of(file)}"


@contextmanager
def _threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count if count > 0 else (os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _build(factory):
    """Build a backbone; random initialisation is seeded so its features are reproducible (and cacheable)."""
    with torch.random.fork_rng():
        torch.manual_seed(RANDOM_INIT_SEED)
        model = factory()
    return model.eval()


class _Extractor:
    name = ""
    dim = 0

    def __init__(self, settings: BackboneSettings) -> None:
        self.settings = settings

    def _weights(self) -> dict:
        raise NotImplementedError

    def _sampling(self) -> dict:
        raise NotImplementedError

    @cached_property
    def _config(self) -> dict:
        return {"weights": self._weights(), **self._sampling()}

    def config(self) -> dict:
        return self._config

    def extract(self, path: Path) -> np.ndarray:
        with _threads(self.settings.threads), torch.inference_mode():
            return self._extract(Path(path)).astype(np.float32)

    def _extract(self, path: Path) -> np.ndarray:
        raise NotImplementedError


class RgbResNet50(_Extractor):
    name = "rgb-resnet50"
    dim = 2048

    def _weights(self) -> dict:
        return {
            "resnet50": _weights_identity(self.settings.resnet50, "ResNet-50", "MVFIT_RESNET50_WEIGHTS", self.settings)
        }

    def _sampling(self) -> dict:
        s = self.settings
        return {"size": s.frame_size, "fps": s.rgb_fps, "max_frames": s.rgb_max_frames, "normalise": "imagenet"}

    @cached_property
    def model(self):
        from training.weights import load_resnet50

        return _build(lambda: load_resnet50(self.settings.resnet50))

    def _extract(self, path: Path) -> np.ndarray:
        from training.inputs.normalize import normalize_frames
        from training.inputs.video import read_frames

        s = self.settings
        frames = read_frames(path, fps=s.rgb_fps, size=s.frame_size, max_frames=s.rgb_max_frames)
        # read_frames returns a read-only view of ffmpeg's buffer; torch wants writable memory.
        return self.model.forward_features(normalize_frames(frames.copy())).numpy()


class FlowResNet50(_Extractor):
    name = "flow-resnet50"
    dim = 2048

    def _weights(self) -> dict:
        # Derived from the RGB checkpoint by the cross-modality rule, so the RGB file identifies it.
        return {
            "resnet50": _weights_identity(self.settings.resnet50, "ResNet-50", "MVFIT_RESNET50_WEIGHTS", self.settings)
        }

    def _sampling(self) -> dict:
        s = self.settings
        return {"size": s.frame_size, "fps": s.flow_fps, "stacks": s.flow_stacks, "pairs": 10, "method": _method(s)}

    @cached_property
    def model(self):
        from training.weights import load_flow_resnet50

        return _build(lambda: load_flow_resnet50(self.settings.resnet50))

    def _extract(self, path: Path) -> np.ndarray:
        from training.inputs.flow import flow_stack
        from training.inputs.video import read_frames

        s = self.settings
        frames = read_frames(path, fps=s.flow_fps, size=s.frame_size)
        if len(frames) < 11:
            raise TrainingInputError(
                f"{path}: {len(frames)} frames at {s.flow_fps} fps; a flow stack needs 11 (clip too short)."
            )
        # Stacks spread evenly over the clip (one stack: centred).
        last_start = len(frames) - 11
        starts = np.linspace(0, last_start, s.flow_stacks + 2)[1:-1] if s.flow_stacks > 0 else []
        stacks = np.stack([flow_stack(frames, 10, start=int(np.rint(x)), method=_method(s)) for x in starts])
        return self.model.forward_features(torch.from_numpy(stacks)).numpy()


class I3dFlow(_Extractor):
    name = "i3d-flow"
    dim = 1024

    def _weights(self) -> dict:
        return {
            "i3d_flow": _weights_identity(self.settings.i3d_flow, "I3D flow", "MVFIT_I3D_FLOW_WEIGHTS", self.settings)
        }

    def _sampling(self) -> dict:
        s = self.settings
        return {"size": s.frame_size, "fps": s.flow_fps, "frames": s.i3d_frames, "method": _method(s)}

    @cached_property
    def model(self):
        from training.weights import load_i3d_flow

        return _build(lambda: load_i3d_flow(self.settings.i3d_flow))

    def _extract(self, path: Path) -> np.ndarray:
        from training.inputs.flow import i3d_flow_clip
        from training.inputs.video import read_frames

        s = self.settings
        frames = read_frames(path, fps=s.flow_fps, size=s.frame_size)
        if len(frames) < 2:
            raise TrainingInputError(f"{path}: I3D flow needs at least 2 frames, the clip gave {len(frames)}.")
        start = max(0, (len(frames) - s.i3d_frames) // 2)  # centred window
        clip = i3d_flow_clip(frames[start : start + s.i3d_frames], method=_method(s))
        return self.model.extract_features(torch.from_numpy(clip)[None]).numpy()


class VGGishAudio(_Extractor):
    name = "vggish"
    dim = 128

    def _weights(self) -> dict:
        s = self.settings
        weights = {"vggish": _weights_identity(s.vggish, "VGGish", "MVFIT_VGGISH_WEIGHTS", s)}
        # AudioSet's PCA postprocessing when its file is configured; raw embeddings otherwise.
        if s.vggish_pca and s.vggish:
            weights["pca"] = _weights_identity(s.vggish_pca, "VGGish PCA", "MVFIT_VGGISH_PCA_WEIGHTS", s)
        return weights

    def _sampling(self) -> dict:
        return {"sample_rate": 16000, "example_s": 0.96, "postprocess": self._postprocess}

    @property
    def _postprocess(self) -> bool:
        return bool(self.settings.vggish and self.settings.vggish_pca)

    @cached_property
    def model(self):
        from training.weights import load_vggish

        s = self.settings
        return _build(lambda: load_vggish(s.vggish, s.vggish_pca, postprocess=self._postprocess))

    def _extract(self, path: Path) -> np.ndarray:
        from training.audio.logmel import waveform_to_examples
        from training.inputs.audio import read_audio

        examples = waveform_to_examples(read_audio(path, sample_rate=16000), 16000)
        if len(examples) == 0:
            raise TrainingInputError(f"{path}: audio shorter than one 0.96 s VGGish example.")
        return self.model(torch.from_numpy(examples)[:, None]).numpy()


def _method(settings: BackboneSettings) -> str:
    """The optical-flow algorithm actually used ("auto" resolved), so the cache key names it."""
    if settings.flow_method != "auto":
        return settings.flow_method
    from training.inputs.flow import tvl1_available

    return "tvl1" if tvl1_available() else "farneback"


def build_streams(variant: str, settings: BackboneSettings) -> list[Stream]:
    """The feature streams of a model variant; weights are checked now (clear errors before any work)."""
    if variant not in VARIANTS:
        raise TrainingInputError(f"--variant must be one of {', '.join(VARIANTS)}, not {variant!r}.")
    if settings.flow_method not in ("auto", "tvl1", "farneback"):
        raise TrainingInputError(f"--flow-method must be auto, tvl1 or farneback, not {settings.flow_method!r}.")
    flow = FlowResNet50(settings) if variant == "two-stream" else I3dFlow(settings)
    streams = [
        Stream("rgb", "clip", RgbResNet50(settings)),
        Stream("flow", "clip", flow),
        Stream("audio", "excerpt", VGGishAudio(settings)),
    ]
    for stream in streams:
        stream.extractor.config()  # resolves weights now: a missing file fails before extraction starts
    return streams
