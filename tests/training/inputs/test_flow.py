"""Optical flow packing for the ResNet (TSN stack) and I3D (pytorch-i3d clip) flow streams."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from training.inputs.flow import flow_stack, i3d_flow_clip, optical_flow, scale_flow, tvl1_available


def translating_texture(frames: int, dx: int, dy: int, size: int = 48) -> np.ndarray:
    """A smooth random texture moving (dx, dy) pixels per frame (right and down positive)."""
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (size * 3, size * 3)), (0, 0), 2.0)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    origin = size
    grey = [
        big[origin - t * dy : origin - t * dy + size, origin - t * dx : origin - t * dx + size] for t in range(frames)
    ]
    return np.stack([np.repeat(g[:, :, None], 3, axis=2) for g in grey])


def interior(flow: np.ndarray) -> np.ndarray:
    return flow[..., 8:-8, 8:-8]


def test_tvl1_is_available_from_opencv_contrib():
    assert tvl1_available()


@pytest.mark.parametrize("method", ["tvl1", "farneback"])
def test_flow_measures_rightward_and_downward_motion_in_pixels(method):
    flow = optical_flow(translating_texture(3, dx=2, dy=1), method=method)
    assert flow.shape == (2, 48, 48, 2) and flow.dtype == np.float32
    assert np.median(flow[:, 8:-8, 8:-8, 0]) == pytest.approx(2.0, abs=0.3)
    assert np.median(flow[:, 8:-8, 8:-8, 1]) == pytest.approx(1.0, abs=0.3)


def test_flow_stack_interleaves_x_and_y_of_ten_pairs():
    frames = translating_texture(15, dx=2, dy=1)
    stack = flow_stack(frames, method="farneback")
    assert stack.shape == (20, 48, 48) and stack.dtype == np.float32
    assert np.median(interior(stack[0::2])) == pytest.approx(2.0 / 20, abs=0.015)  # x channels
    assert np.median(interior(stack[1::2])) == pytest.approx(1.0 / 20, abs=0.015)  # y channels


def test_flow_stack_window_defaults_to_the_centre_of_the_clip():
    frames = translating_texture(3, dx=0, dy=0)
    moving = translating_texture(11, dx=3, dy=0)
    clip = np.concatenate([frames, moving, frames])  # 17 frames: the centred window is frames 3..13
    stack = flow_stack(clip, n_pairs=10, method="farneback")
    np.testing.assert_allclose(stack, flow_stack(moving, n_pairs=10, method="farneback"), atol=1e-6)
    assert flow_stack(clip, n_pairs=2, start=0, method="farneback").shape == (4, 48, 48)


def test_i3d_clip_is_channels_first_x_then_y():
    clip = i3d_flow_clip(translating_texture(5, dx=-2, dy=1), method="farneback")
    assert clip.shape == (2, 4, 48, 48) and clip.dtype == np.float32
    assert np.median(interior(clip[0])) == pytest.approx(-2.0 / 20, abs=0.015)
    assert np.median(interior(clip[1])) == pytest.approx(1.0 / 20, abs=0.015)


def test_values_are_truncated_at_20_pixels_and_scaled_to_unit_range():
    np.testing.assert_allclose(
        scale_flow(np.array([-35.0, -20.0, -5.0, 0.0, 10.0, 20.0, 99.0])), [-1.0, -1.0, -0.25, 0.0, 0.5, 1.0, 1.0]
    )


def test_bad_inputs_are_clear_errors():
    frames = translating_texture(5, dx=1, dy=0)
    with pytest.raises(ValueError, match="need 11 frames, got 5"):
        flow_stack(frames)
    with pytest.raises(ValueError, match="start=3"):
        flow_stack(frames, n_pairs=2, start=3)
    with pytest.raises(ValueError, match="uint8 RGB"):
        i3d_flow_clip(frames.astype(np.float32))
    with pytest.raises(ValueError, match="at least 2 frames"):
        i3d_flow_clip(frames[:1])
    with pytest.raises(ValueError, match="unknown optical-flow method"):
        optical_flow(frames, method="lucas-kanade")


def test_opencv_is_not_loaded_by_django_or_the_rest_of_training():
    code = (
        "import sys, django; django.setup();"
        "import training.backbones, training.weights, training.audio.logmel;"
        "import training.inputs.video, training.inputs.audio, training.inputs.normalize;"
        "assert 'cv2' not in sys.modules, 'cv2 was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
