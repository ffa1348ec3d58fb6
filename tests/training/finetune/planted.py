"""A planted direction rule on flow inputs, small enough for CPU tests.

Clips are pans as decoded flow-pair inputs ``(1 stack, 10 pairs, 2, H, W)``: rightward (x = a + n,
y = n') or downward (x = n', y = a + n), with spatial noise fields n, n' (flow estimated on a texture
is never uniform), each amplitude and noise once in each direction. The rater prefers the "fast"
excerpt for a rightward pan and the "slow" one for a downward pan. The replicated 20-channel stem
(every channel the same filter) sees x + y summed over the stack, which is the same for the two pans
of one amplitude: no function of its frozen features can tell them apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from training.features.extractors import BackboneSettings, FlowResNet50
from training.finetune.data import ClipSource, PreferenceInputs
from training.finetune.model import FineTuneNet
from training.preference.model import PreferenceConfig, PreferenceNet

AMPLITUDES = (0.2, 0.4, 0.6, 0.8)
SIZE = 32
FAST, SLOW = 1, 2


def pan(direction: str, amplitude: float, size: int = SIZE) -> np.ndarray:
    noise = np.random.default_rng(int(amplitude * 1000)).normal(0, 0.1, size=(2, 10, size, size))
    along, across = (0, 1) if direction == "right" else (1, 0)
    pairs = np.zeros((1, 10, 2, size, size), dtype=np.float32)
    pairs[0, :, along] = amplitude + noise[0]
    pairs[0, :, across] = noise[1]
    return pairs.astype(np.float16)


def calibrate_batchnorm(model: FineTuneNet) -> None:
    """Give the random-init backbone BatchNorm statistics of the planted inputs, as a pretrained one has of its data.

    Random-init BN layers hold (mean 0, var 1) in eval mode, so a 50-layer ResNet's activations grow
    to ~1e8 and every input looks alike; a pretrained network's statistics keep them near unit scale.
    """
    backbone, extractor = model.backbones["flow"], model.extractors["flow"]
    for module in backbone.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration pass
    inputs = torch.cat([extractor.to_input(torch.from_numpy(pan(d, a))) for d in ("right", "down") for a in AMPLITUDES])
    backbone.train()
    with torch.no_grad():
        extractor.rows(backbone, inputs)
    for module in backbone.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.1
    backbone.eval()


def planted_dataset(folder: Path) -> PreferenceInputs:
    folder.mkdir(parents=True, exist_ok=True)
    entries, rows = {}, []
    clip_id = 0
    for amplitude in AMPLITUDES:
        for direction in ("right", "down"):
            clip_id += 1
            entries[clip_id] = folder / f"clip{clip_id}.npy"
            np.save(entries[clip_id], pan(direction, amplitude))
            wanted = FAST if direction == "right" else SLOW
            for a, b in ((FAST, SLOW), (SLOW, FAST)):
                rows.append({"query_id": clip_id, "a_id": a, "b_id": b, "label": int(a == wanted)})
    items = pd.DataFrame(rows).assign(query_kind="clip", option_kind="excerpt")
    audio = {
        FAST: np.array([1.0, 0.0, 0.5, 0.0], dtype=np.float32),
        SLOW: np.array([0.0, 1.0, 0.0, 0.5], dtype=np.float32),
    }
    return PreferenceInputs(items, ClipSource({"flow": entries}), audio)


def flow_model(train_from: str, *, dropout: float = 0.0, seed: int = 0) -> FineTuneNet:
    extractor = FlowResNet50(BackboneSettings(random_init=True, flow_encoding="stack", frame_size=SIZE, device="cpu"))
    torch.manual_seed(seed)
    head = PreferenceNet(PreferenceConfig(query_dim=2048, option_dim=4, embed_dim=16, hidden_dim=16, dropout=dropout))
    backbone = extractor.build().to(memory_format=torch.channels_last)
    model = FineTuneNet(backbones={"flow": backbone}, extractors={"flow": extractor}, head=head, train_from=train_from)
    calibrate_batchnorm(model)
    return model
