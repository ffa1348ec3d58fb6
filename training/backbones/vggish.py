"""VGGish (Hershey et al. 2017) laid out like harritaylor/torchvggish, including its PCA postprocessor.

Langlois (2019, §3) encodes each music track with VGGish pretrained on AudioSet; both tracks of a
pair go through the same network. The PyTorch port of Google's weights is torchvggish
(``vggish-10086976.pth`` + ``vggish_pca_params-970ea276.pth``); this module keeps its key layout:

* ``features.{0,3,6,8,11,13}.weight/bias``: six 3x3 convolutions (64, 128, 256, 256, 512, 512) with
  ReLUs and four 2x2 max-pools in between, as ``nn.Sequential`` indices;
* ``embeddings.{0,2,4}.weight/bias``: 12288 -> 4096 -> 4096 -> 128 fully connected, each followed by a
  ReLU (torchvggish keeps the ReLU after the last layer, so raw embeddings are non-negative);
* ``pproc.pca_eigen_vectors`` (128, 128) and ``pproc.pca_means`` (128, 1): the AudioSet PCA/whitening.

Input is a batch of log-mel examples ``(N, 1, 96, 64)`` (time x mel, from
:func:`training.audio.logmel.waveform_to_examples`). Before the classifier the ``(N, 512, 6, 4)`` map is
flattened in (time, mel, channel) order, because the weights come from TensorFlow's NHWC layout.

Postprocessing (``postprocess=True``) reproduces the released AudioSet embeddings:
``q = round((clip(P (e - mu), -2, 2) + 2) * 255 / 4)``, i.e. PCA with whitening, clipped and quantised
to 8 bits, returned as float32 values in ``[0, 255]``. Unlike torchvggish we never squeeze the batch
dimension, so one example gives ``(1, 128)``, not ``(128,)``.

The PCA tensors are *buffers*, not parameters (torchvggish uses frozen ``nn.Parameter``s; the state-dict
keys are identical either way). So ``sum(p.numel() for p in model.parameters())`` is the network's
72,141,184 weights, while the state dict holds 16,512 PCA values on top. Without a PCA file the
postprocessor starts as the identity transform (eigenvectors = I, means = 0) rather than
torchvggish's uninitialised memory, so random-init runs are deterministic.
"""

from __future__ import annotations

import torch
from torch import nn

EMBEDDING_SIZE = 128
NUM_FRAMES = 96  # 10 ms frames per 0.96 s example
NUM_BANDS = 64  # mel bands
PCA_EIGEN_VECTORS_NAME = "pca_eigen_vectors"
PCA_MEANS_NAME = "pca_means"
QUANTIZE_MIN_VAL = -2.0
QUANTIZE_MAX_VAL = 2.0

# VGG configuration "A"-like stack used by VGGish: numbers are conv widths, "M" a 2x2 max-pool.
_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")


def _make_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 1
    for spec in _LAYERS:
        if spec == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, int(spec), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = int(spec)
    return nn.Sequential(*layers)


class Postprocessor(nn.Module):
    """AudioSet PCA whitening + 8-bit quantisation of 128-D embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(PCA_EIGEN_VECTORS_NAME, torch.eye(EMBEDDING_SIZE))
        self.register_buffer(PCA_MEANS_NAME, torch.zeros(EMBEDDING_SIZE, 1))

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        if embeddings.dim() != 2 or embeddings.shape[1] != EMBEDDING_SIZE:
            raise ValueError(f"expected embeddings of shape (N, {EMBEDDING_SIZE}), got {tuple(embeddings.shape)}")
        # PCA in column form, as the reference: P @ (e^T - mu), transposed back to (N, 128).
        pca_applied = (self.pca_eigen_vectors @ (embeddings.T - self.pca_means)).T
        clipped = torch.clamp(pca_applied, QUANTIZE_MIN_VAL, QUANTIZE_MAX_VAL)
        return torch.round((clipped - QUANTIZE_MIN_VAL) * (255.0 / (QUANTIZE_MAX_VAL - QUANTIZE_MIN_VAL)))


class VGGish(nn.Module):
    """VGGish embedding network: ``(N, 1, 96, 64)`` log-mel examples -> ``(N, 128)``.

    With ``postprocess=False`` there is no ``pproc`` submodule (as in torchvggish), and the output is the
    raw (non-negative, un-whitened) embedding.
    """

    def __init__(self, postprocess: bool = True) -> None:
        super().__init__()
        self.features = _make_features()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_SIZE),
            nn.ReLU(inplace=True),
        )
        self.postprocess = postprocess
        if postprocess:
            self.pproc = Postprocessor()

    def raw_embeddings(self, examples: torch.Tensor) -> torch.Tensor:
        """Embeddings before PCA/quantisation, ``(N, 128)``."""
        if examples.dim() != 4 or tuple(examples.shape[1:]) != (1, NUM_FRAMES, NUM_BANDS):
            raise ValueError(
                f"expected log-mel examples of shape (N, 1, {NUM_FRAMES}, {NUM_BANDS}), got {tuple(examples.shape)}"
            )
        x = self.features(examples)  # (N, 512, 6, 4)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # TF's NHWC flattening order
        return self.embeddings(x)

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        x = self.raw_embeddings(examples)
        return self.pproc(x) if self.postprocess else x
