import numpy as np
import pytest
import torch

from training.inputs.normalize import IMAGENET_MEAN, IMAGENET_STD, normalize_frames


def test_frames_become_channels_first_imagenet_normalised_tensors():
    frames = np.zeros((2, 4, 5, 3), dtype=np.uint8)
    frames[1, :, :, :] = 255
    tensor = normalize_frames(frames)
    assert tensor.shape == (2, 3, 4, 5) and tensor.dtype == torch.float32
    for channel in range(3):
        assert tensor[0, channel, 0, 0].item() == pytest.approx(-IMAGENET_MEAN[channel] / IMAGENET_STD[channel])
        assert tensor[1, channel, 3, 4].item() == pytest.approx((1 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel])


def test_a_single_frame_gets_a_batch_axis_and_float_input_is_refused():
    assert normalize_frames(np.zeros((4, 4, 3), dtype=np.uint8)).shape == (1, 3, 4, 4)
    with pytest.raises(ValueError, match="uint8"):
        normalize_frames(np.zeros((1, 4, 4, 3), dtype=np.float32))
