"""The backbones as feature extractors: one media file in, a (T, D) array out.

    rgb          ResNet-50 on RGB frames sampled at ``rgb_fps``                       -> (frames, 2048)
    flow         ResNet-50 on stacks of 10 optical-flow pairs, encoded as
                   xym   each pair an (x, y, magnitude) image through the ImageNet
                         RGB network, averaged over the stack (frozen default)       -> (stacks, 2048)
                   stack the 20-channel stack through the cross-modality stem of
                         TSN / Langlois (the fine-tuning default)                   -> (stacks, 2048)
    i3d-flow     I3D flow stream on ``i3d_frames`` consecutive frames                -> (1, 1024)
    vggish       VGGish on 0.96 s log-mel examples                                  -> (examples, 128)

Variants (Langlois 2019, §3 and Table 1):

    two-stream   rgb + flow (ResNet-50)          "Two-stream ResNet50"
    i3d          i3d-flow only                   "I3D" - the seed's model: "we used only the flow stream"
    rgb-i3d      rgb + i3d-flow                  mvfit's combination (not in the paper)

all with vggish for the excerpts. Each extractor is split in two so that frozen extraction and
fine-tuning share one definition of a stream: :meth:`decode` turns a file into the network's input
(uint8 frames, float16 flow, float32 log-mel examples; cached per file for fine-tuning) and
:meth:`rows` runs a network on one decoded input. Everything that changes an output goes into
``config()`` and so into the feature cache key: the sampling settings, the sha256 of each weights
file (or ``random-init`` with its seed), the flow encoding and the inference precision. Backbones are
built lazily, so a fully cached run never loads a network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mvfit_common.files import sha256_of
from training.device import autocast, resolve_device, resolve_precision, threads
from training.errors import TrainingInputError
from training.features.store import Stream

VARIANTS = ("two-stream", "i3d", "rgb-i3d")
VARIANT_LABELS = {"two-stream": "Two-stream ResNet50", "i3d": "I3D", "rgb-i3d": "RGB ResNet50 + I3D flow"}
FLOW_ENCODINGS = ("xym", "stack")
RANDOM_INIT_SEED = 0
FLOW_PAIRS = 10


@dataclass(frozen=True)
class BackboneSettings:
    """Weights files, input sampling and the inference device for the feature extractors (CLI flags / environment)."""

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
    flow_encoding: str = "xym"
    i3d_frames: int = 32
    # One thread by default: on a shared machine a second OpenMP thread mostly spins waiting for a core
    # (measured 2-7x slower under load); on a dedicated multi-core machine raise it (0 = every core).
    threads: int = 1
    device: str = "auto"
    precision: str = "auto"

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

    @classmethod
    def from_dict(cls, data: dict) -> BackboneSettings:
        """Settings recorded by a run (older runs lack newer fields; they used the 20-channel flow stack)."""
        known = {f.name for f in fields(cls)}
        return cls(**{"flow_encoding": "stack", **{k: v for k, v in data.items() if k in known}})

    def to_dict(self) -> dict:
        return asdict(self)

    @cached_property
    def torch_device(self) -> torch.device:
        return resolve_device(self.device)

    @cached_property
    def resolved_precision(self) -> str:
        return resolve_precision(self.precision, self.torch_device, training=False)


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


def build_backbone(factory) -> nn.Module:
    """Build a backbone; random initialisation is seeded so its features are reproducible (and cacheable)."""
    with torch.random.fork_rng():
        torch.manual_seed(RANDOM_INIT_SEED)
        model = factory()
    return model.eval()


def _for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """Frozen-extraction form: BatchNorm folded into the convolutions (ResNets), channels-last memory, on ``device``."""
    from training.backbones.resnet import ResNet, fuse_batchnorm

    model = model.eval()
    if isinstance(model, ResNet):
        model = fuse_batchnorm(model).to(device)
        # Channels-last for the ResNets, whose rows() convert their inputs to match.
        return model.to(memory_format=torch.channels_last) if device.type != "mps" else model
    return model.to(device)


class _Extractor:
    name = ""
    dim = 0
    input_name = ""  # decoded inputs with the same name and input_config() are the same array
    framewise = True  # rows() of several clips can run as one batch along dim 0

    def __init__(self, settings: BackboneSettings) -> None:
        self.settings = settings

    def _weights(self) -> dict:
        raise NotImplementedError

    def input_config(self) -> dict:
        raise NotImplementedError

    def _encoding(self) -> dict:
        return {}

    @cached_property
    def _config(self) -> dict:
        return {
            "weights": self._weights(),
            **self.input_config(),
            **self._encoding(),
            "precision": self.settings.resolved_precision,
        }

    def config(self) -> dict:
        return self._config

    def build(self) -> nn.Module:
        """A fresh backbone with this stream's weights (eval mode, CPU, BatchNorm not folded)."""
        raise NotImplementedError

    @cached_property
    def model(self) -> nn.Module:
        return _for_inference(self.build(), self.settings.torch_device)

    def decode(self, path: Path) -> np.ndarray:
        """The network input of one media file, as stored in the input cache."""
        raise NotImplementedError

    def to_input(self, decoded: torch.Tensor) -> torch.Tensor:
        """Decoded array (on its device) -> the float tensor :meth:`rows` expects."""
        return decoded.float()

    def rows(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Features ``(R, dim)`` of one decoded input; the clip's embedding is their mean."""
        raise NotImplementedError

    def extract(self, path: Path) -> np.ndarray:
        device = self.settings.torch_device
        decoded = torch.from_numpy(np.ascontiguousarray(self.decode(Path(path))))
        with threads(self.settings.threads), torch.inference_mode(), autocast(device, self.settings.resolved_precision):
            features = self.rows(self.model, self.to_input(decoded.to(device)))
        return features.float().cpu().numpy()


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 and x.device.type != "mps" else x


class RgbResNet50(_Extractor):
    name = "rgb-resnet50"
    dim = 2048
    input_name = "rgb-frames"

    def _weights(self) -> dict:
        return {
            "resnet50": _weights_identity(self.settings.resnet50, "ResNet-50", "MVFIT_RESNET50_WEIGHTS", self.settings)
        }

    def input_config(self) -> dict:
        s = self.settings
        return {"size": s.frame_size, "fps": s.rgb_fps, "max_frames": s.rgb_max_frames, "normalise": "imagenet"}

    def build(self) -> nn.Module:
        from training.weights import load_resnet50

        return build_backbone(lambda: load_resnet50(self.settings.resnet50))

    def decode(self, path: Path) -> np.ndarray:
        from training.inputs.video import read_frames

        s = self.settings
        return read_frames(path, fps=s.rgb_fps, size=s.frame_size, max_frames=s.rgb_max_frames).copy()

    def to_input(self, decoded: torch.Tensor) -> torch.Tensor:
        from training.inputs.normalize import normalize_images

        return normalize_images(decoded.permute(0, 3, 1, 2).float().div_(255.0))

    def rows(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.forward_features(_channels_last(x))


class _FlowPairs(_Extractor):
    """Flow streams on stacks of 10 flow pairs: one decoded input, ``(stacks, 10, 2, H, W)`` float16."""

    input_name = "flow-pairs"

    def input_config(self) -> dict:
        s = self.settings
        return {
            "size": s.frame_size,
            "fps": s.flow_fps,
            "stacks": s.flow_stacks,
            "pairs": FLOW_PAIRS,
            "method": _method(s),
        }

    def _weights(self) -> dict:
        # Both flow ResNets come from the RGB checkpoint, so the RGB file identifies them.
        return {
            "resnet50": _weights_identity(self.settings.resnet50, "ResNet-50", "MVFIT_RESNET50_WEIGHTS", self.settings)
        }

    def decode(self, path: Path) -> np.ndarray:
        from training.inputs.flow import flow_pairs
        from training.inputs.video import read_frames

        s = self.settings
        frames = read_frames(path, fps=s.flow_fps, size=s.frame_size)
        if len(frames) < FLOW_PAIRS + 1:
            raise TrainingInputError(
                f"{path}: {len(frames)} frames at {s.flow_fps} fps; a flow stack needs {FLOW_PAIRS + 1} (clip too short)."
            )
        # Stacks spread evenly over the clip (one stack: centred).
        last_start = len(frames) - (FLOW_PAIRS + 1)
        starts = np.linspace(0, last_start, s.flow_stacks + 2)[1:-1]
        pairs = [flow_pairs(frames, FLOW_PAIRS, start=int(np.rint(x)), method=_method(s)) for x in starts]
        return np.stack(pairs).astype(np.float16)


class FlowResNet50(_FlowPairs):
    """The seed's flow stream: 20 stacked channels (x1, y1, ..., x10, y10) through the cross-modality stem."""

    name = "flow-resnet50"
    dim = 2048

    def _encoding(self) -> dict:
        return {"encoding": "stack"}

    def build(self) -> nn.Module:
        from training.weights import load_flow_resnet50

        return build_backbone(lambda: load_flow_resnet50(self.settings.resnet50))

    def to_input(self, decoded: torch.Tensor) -> torch.Tensor:
        stacks, pairs, _, height, width = decoded.shape
        return decoded.float().reshape(stacks, 2 * pairs, height, width)

    def rows(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.forward_features(_channels_last(x))


class FlowImageResNet50(_FlowPairs):
    """Each flow pair as an (x, y, magnitude) image through the ImageNet RGB ResNet-50, averaged per stack."""

    name = "flow-xym-resnet50"
    dim = 2048

    def _encoding(self) -> dict:
        return {"encoding": "xym"}

    def build(self) -> nn.Module:
        from training.weights import load_resnet50

        return build_backbone(lambda: load_resnet50(self.settings.resnet50))

    def to_input(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded.float()

    def rows(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        from training.inputs.normalize import normalize_images

        stacks, pairs, _, height, width = x.shape
        flow = x.reshape(stacks * pairs, 2, height, width)
        magnitude = torch.sqrt(flow[:, 0] ** 2 + flow[:, 1] ** 2).clamp(max=1.0)
        # training.inputs.flow.flow_images, in torch so that it runs on the device and inside autograd.
        images = torch.stack([0.5 + 0.5 * flow[:, 0], 0.5 + 0.5 * flow[:, 1], magnitude], dim=1)
        features = model.forward_features(_channels_last(normalize_images(images)))
        return features.reshape(stacks, pairs, -1).mean(dim=1)


class I3dFlow(_Extractor):
    name = "i3d-flow"
    dim = 1024
    input_name = "i3d-flow-clip"
    framewise = False

    def _weights(self) -> dict:
        return {
            "i3d_flow": _weights_identity(self.settings.i3d_flow, "I3D flow", "MVFIT_I3D_FLOW_WEIGHTS", self.settings)
        }

    def input_config(self) -> dict:
        s = self.settings
        return {"size": s.frame_size, "fps": s.flow_fps, "frames": s.i3d_frames, "method": _method(s)}

    def build(self) -> nn.Module:
        from training.weights import load_i3d_flow

        return build_backbone(lambda: load_i3d_flow(self.settings.i3d_flow))

    def decode(self, path: Path) -> np.ndarray:
        from training.inputs.flow import i3d_flow_clip
        from training.inputs.video import read_frames

        s = self.settings
        frames = read_frames(path, fps=s.flow_fps, size=s.frame_size)
        if len(frames) < 2:
            raise TrainingInputError(f"{path}: I3D flow needs at least 2 frames, the clip gave {len(frames)}.")
        start = max(0, (len(frames) - s.i3d_frames) // 2)  # centred window
        return i3d_flow_clip(frames[start : start + s.i3d_frames], method=_method(s)).astype(np.float16)

    def rows(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.extract_features(x[None])


class VGGishAudio(_Extractor):
    name = "vggish"
    dim = 128
    input_name = "vggish-examples"

    def _weights(self) -> dict:
        s = self.settings
        weights = {"vggish": _weights_identity(s.vggish, "VGGish", "MVFIT_VGGISH_WEIGHTS", s)}
        # AudioSet's PCA postprocessing when its file is configured; raw embeddings otherwise.
        if s.vggish_pca and s.vggish:
            weights["pca"] = _weights_identity(s.vggish_pca, "VGGish PCA", "MVFIT_VGGISH_PCA_WEIGHTS", s)
        return weights

    def input_config(self) -> dict:
        from training.audio.resample import NAME

        return {"sample_rate": 16000, "example_s": 0.96, "resampler": NAME}

    def _encoding(self) -> dict:
        return {"postprocess": self._postprocess}

    @property
    def _postprocess(self) -> bool:
        return bool(self.settings.vggish and self.settings.vggish_pca)

    def build(self) -> nn.Module:
        from training.weights import load_vggish

        s = self.settings
        return build_backbone(lambda: load_vggish(s.vggish, s.vggish_pca, postprocess=self._postprocess))

    def decode(self, path: Path) -> np.ndarray:
        from training.audio.logmel import waveform_to_examples
        from training.inputs.audio import read_audio_native

        # The file's own rate, resampled by the front end exactly as VGGish's reference does.
        waveform, rate = read_audio_native(path)
        examples = waveform_to_examples(waveform, rate)
        if len(examples) == 0:
            raise TrainingInputError(f"{path}: audio shorter than one 0.96 s VGGish example.")
        return examples

    def rows(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model(x[:, None])


def _method(settings: BackboneSettings) -> str:
    """The optical-flow algorithm actually used ("auto" resolved), so the cache key names it."""
    if settings.flow_method != "auto":
        return settings.flow_method
    from training.inputs.flow import tvl1_available

    return "tvl1" if tvl1_available() else "farneback"


def flow_extractor(settings: BackboneSettings) -> _Extractor:
    if settings.flow_encoding not in FLOW_ENCODINGS:
        raise TrainingInputError(
            f"--flow-encoding must be one of {', '.join(FLOW_ENCODINGS)}, not {settings.flow_encoding!r}."
        )
    return FlowImageResNet50(settings) if settings.flow_encoding == "xym" else FlowResNet50(settings)


def build_streams(variant: str, settings: BackboneSettings) -> list[Stream]:
    """The feature streams of a model variant; weights are checked now (clear errors before any work)."""
    if variant not in VARIANTS:
        raise TrainingInputError(f"--variant must be one of {', '.join(VARIANTS)}, not {variant!r}.")
    if settings.flow_method not in ("auto", "tvl1", "farneback"):
        raise TrainingInputError(f"--flow-method must be auto, tvl1 or farneback, not {settings.flow_method!r}.")
    visual = {
        "two-stream": [Stream("rgb", "clip", RgbResNet50(settings)), Stream("flow", "clip", flow_extractor(settings))],
        "i3d": [Stream("flow", "clip", I3dFlow(settings))],
        "rgb-i3d": [Stream("rgb", "clip", RgbResNet50(settings)), Stream("flow", "clip", I3dFlow(settings))],
    }[variant]
    streams = [*visual, Stream("audio", "excerpt", VGGishAudio(settings))]
    for stream in streams:
        stream.extractor.config()  # resolves weights and device now: a bad setting fails before extraction starts
    return streams
