"""The frozen flow stream's (x, y, magnitude) encoding tells pans apart by direction and time apart by sign.

Frames pan over a random texture (2 px per frame at 64x64); flow comes from OpenCV (Farnebäck), the
ResNet-50 is randomly initialised and frozen. A rightward pan over one texture must be nearest to the
rightward pan over another texture among all four directions, and the same clip played backwards
must look like the opposite pan. (The replicated 20-channel stem cannot do this: it sees x + y only,
tests/training/finetune/test_direction_rule.py.)
"""

import numpy as np
import pytest
import torch

from training.features.extractors import BackboneSettings, FlowImageResNet50
from training.inputs.flow import flow_images, flow_pairs

DIRECTIONS = {"right": (0, 2), "left": (0, -2), "down": (2, 0), "up": (-2, 0)}
SIZE = 64


def panning_frames(direction: str, seed: int, count: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(SIZE // 4 + 12, SIZE // 4 + 12, 3), dtype=np.uint8)
    canvas = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)
    dy, dx = DIRECTIONS[direction]
    y0, x0 = 24, 24
    # The view moves against the content: content moving right = window sliding left.
    return np.stack([canvas[y0 - dy * t : y0 - dy * t + SIZE, x0 - dx * t : x0 - dx * t + SIZE] for t in range(count)])


@pytest.fixture(scope="module")
def extractor():
    return FlowImageResNet50(BackboneSettings(random_init=True, frame_size=SIZE, device="cpu", precision="fp32"))


def embed(extractor, frames: np.ndarray) -> torch.Tensor:
    pairs = flow_pairs(frames, 10, start=0, method="farneback")[None].astype(np.float16)
    with torch.inference_mode():
        return extractor.rows(extractor.model, extractor.to_input(torch.from_numpy(pairs)))[0]


def test_flow_images_put_each_direction_in_its_own_colour():
    right = flow_images(np.broadcast_to(np.array([0.5, 0.0])[None, :, None, None], (1, 2, 4, 4)))
    down = flow_images(np.broadcast_to(np.array([0.0, 0.5])[None, :, None, None], (1, 2, 4, 4)))
    still = flow_images(np.zeros((1, 2, 4, 4)))
    np.testing.assert_allclose(right[0, :, 0, 0], [0.75, 0.5, 0.5])
    np.testing.assert_allclose(down[0, :, 0, 0], [0.5, 0.75, 0.5])
    np.testing.assert_allclose(still[0, :, 0, 0], [0.5, 0.5, 0.0])


def test_frozen_features_recognise_the_direction_of_a_pan_on_an_unseen_texture(extractor):
    reference = {d: embed(extractor, panning_frames(d, seed=1)) for d in DIRECTIONS}
    for direction in DIRECTIONS:
        query = embed(extractor, panning_frames(direction, seed=2))
        distances = {d: float(torch.dist(query, feature)) for d, feature in reference.items()}
        assert min(distances, key=distances.get) == direction, distances


def test_time_reversal_is_seen_as_the_opposite_pan(extractor):
    reference = {d: embed(extractor, panning_frames(d, seed=1)) for d in DIRECTIONS}
    for direction, opposite in (("right", "left"), ("down", "up")):
        backwards = embed(extractor, panning_frames(direction, seed=3)[::-1].copy())
        distances = {d: float(torch.dist(backwards, feature)) for d, feature in reference.items()}
        assert min(distances, key=distances.get) == opposite, distances
