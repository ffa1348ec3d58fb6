"""I3D must match piergiaj/pytorch-i3d: keys, shapes, parameter count and TF-style "SAME" padding."""

import math

import pytest
import torch

from training.backbones.i3d import InceptionI3d, _same_padding

# Inception-v1 widths (Szegedy et al. 2015, Table 1), typed in from the paper for an independent count:
# (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5 (a 3x3x3 conv in I3D), pool proj).
INCEPTION_TABLE = {
    "3b": (64, 96, 128, 16, 32, 32),
    "3c": (128, 128, 192, 32, 96, 64),
    "4b": (192, 96, 208, 16, 48, 64),
    "4c": (160, 112, 224, 24, 64, 64),
    "4d": (128, 128, 256, 24, 64, 64),
    "4e": (112, 144, 288, 32, 64, 64),
    "4f": (256, 160, 320, 32, 128, 128),
    "5b": (256, 160, 320, 32, 128, 128),
    "5c": (384, 192, 384, 48, 128, 128),
}
I3D_FLOW_400_PARAMETERS = 12_675_312


def unit_parameters(c_in: int, c_out: int, kernel_volume: int) -> int:
    """Bias-free conv plus BatchNorm's learnable scale and shift."""
    return c_in * c_out * kernel_volume + 2 * c_out


def expected_i3d_parameters(in_channels: int, num_classes: int) -> int:
    total = unit_parameters(in_channels, 64, 7**3) + unit_parameters(64, 64, 1) + unit_parameters(64, 192, 3**3)
    c_in = 192
    for c0, c1a, c1b, c2a, c2b, c3 in INCEPTION_TABLE.values():
        total += unit_parameters(c_in, c0, 1)
        total += unit_parameters(c_in, c1a, 1) + unit_parameters(c1a, c1b, 27)
        total += unit_parameters(c_in, c2a, 1) + unit_parameters(c2a, c2b, 27)
        total += unit_parameters(c_in, c3, 1)
        c_in = c0 + c1b + c2b + c3
    assert c_in == 1024
    return total + c_in * num_classes + num_classes  # logits: 1x1x1 conv with bias, no BN


@pytest.fixture(scope="module")
def flow_i3d():
    torch.manual_seed(0)
    return InceptionI3d(num_classes=400, in_channels=2).eval()


def test_flow_parameter_count_matches_the_architecture_table(flow_i3d):
    assert expected_i3d_parameters(2, 400) == I3D_FLOW_400_PARAMETERS
    assert sum(p.numel() for p in flow_i3d.parameters()) == I3D_FLOW_400_PARAMETERS
    rgb = InceptionI3d(num_classes=400, in_channels=3)
    assert sum(p.numel() for p in rgb.parameters()) == expected_i3d_parameters(3, 400)


def test_state_dict_keys_follow_pytorch_i3d(flow_i3d):
    state = flow_i3d.state_dict()
    # 57 conv units x (conv weight + 5 BN entries) + logits weight and bias
    assert len(state) == 57 * 6 + 2
    expected_shapes = {
        "Conv3d_1a_7x7.conv3d.weight": (64, 2, 7, 7, 7),
        "Conv3d_1a_7x7.bn.running_mean": (64,),
        "Conv3d_2c_3x3.conv3d.weight": (192, 64, 3, 3, 3),
        "Mixed_3b.b0.conv3d.weight": (64, 192, 1, 1, 1),
        "Mixed_3b.b1b.conv3d.weight": (128, 96, 3, 3, 3),
        "Mixed_4f.b3b.bn.weight": (128,),
        "Mixed_5c.b2b.conv3d.weight": (128, 48, 3, 3, 3),
        "logits.conv3d.weight": (400, 1024, 1, 1, 1),
        "logits.conv3d.bias": (400,),
    }
    for key, shape in expected_shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(key.startswith("logits.bn") for key in state)
    assert not any(key.endswith("conv3d.bias") and not key.startswith("logits") for key in state)


@pytest.mark.parametrize(("kernel", "stride"), [(7, 2), (3, 2), (3, 1), (2, 2), (1, 1), (1, 2)])
def test_same_padding_gives_tensorflow_output_sizes(kernel, stride):
    for size in range(1, 41):
        front, back = _same_padding([size], (kernel,), (stride,))
        assert 0 <= back - front <= 1  # the extra row goes at the end, as in TF
        assert (size + front + back - kernel) // stride + 1 == math.ceil(size / stride), size


def test_same_padding_orders_pads_last_dimension_first():
    # (T, H, W) = (16, 224, 223) with a 7x7x7 stride-2 kernel: W pads 3+3, H pads 2+3, T pads 2+3.
    assert _same_padding([16, 224, 223], (7, 7, 7), (2, 2, 2)) == (3, 3, 2, 3, 2, 3)


def test_extract_features_pools_mixed_5c_to_1024(flow_i3d):
    clip = torch.randn(2, 2, 16, 64, 64)
    with torch.no_grad():
        feature_map = flow_i3d.feature_map(clip)
        features = flow_i3d.extract_features(clip)
    assert feature_map.shape == (2, 1024, 2, 2, 2)  # ceil(16/8), ceil(64/32), ceil(64/32)
    assert features.shape == (2, 1024)
    torch.testing.assert_close(features, feature_map.mean(dim=(2, 3, 4)))


@pytest.mark.slow
def test_forward_gives_per_time_step_kinetics_logits_at_224(flow_i3d):
    with torch.no_grad():
        logits = flow_i3d(torch.randn(1, 2, 16, 224, 224))
    assert logits.shape == (1, 400, 1)


def test_replace_logits_keeps_the_trunk():
    model = InceptionI3d(num_classes=400, in_channels=2)
    trunk = model.Mixed_5c.b0.conv3d.weight
    model.replace_logits(2)
    assert model.logits.conv3d.weight.shape == (2, 1024, 1, 1, 1)
    assert model.Mixed_5c.b0.conv3d.weight is trunk
