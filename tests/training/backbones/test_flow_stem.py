"""The flow ResNet's 20-channel conv1 follows TSN's cross-modality rule: RGB mean, replicated."""

import pytest
import torch

from training.backbones.flow_stem import cross_modality_conv_weight, flow_resnet50_from_rgb
from training.backbones.resnet import resnet50


@pytest.fixture(scope="module")
def rgb_and_flow():
    torch.manual_seed(0)
    rgb = resnet50().eval()
    return rgb, flow_resnet50_from_rgb(rgb).eval()


def test_every_flow_channel_is_the_mean_of_the_rgb_filters(rgb_and_flow):
    rgb, flow = rgb_and_flow
    rgb_w = rgb.conv1.weight.detach()
    flow_w = flow.conv1.weight.detach()
    assert flow_w.shape == (64, 20, 7, 7)
    expected = (rgb_w[:, 0] + rgb_w[:, 1] + rgb_w[:, 2]) / 3
    for channel in range(20):
        torch.testing.assert_close(flow_w[:, channel], expected)


def test_all_other_weights_are_copied_unchanged(rgb_and_flow):
    rgb, flow = rgb_and_flow
    rgb_state, flow_state = rgb.state_dict(), flow.state_dict()
    assert set(rgb_state) == set(flow_state)
    for key in rgb_state:
        if key != "conv1.weight":
            assert torch.equal(rgb_state[key], flow_state[key]), key


def test_conv1_response_to_a_replicated_image_is_20_over_3_times_the_rgb_response(rgb_and_flow):
    # RGB conv on (g, g, g) = 3 * mean filter * g; flow conv on 20 copies of g = 20 * mean filter * g.
    rgb, flow = rgb_and_flow
    grey = torch.randn(2, 1, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        rgb_out = torch.nn.functional.conv2d(grey.expand(-1, 3, -1, -1), rgb.conv1.weight.double(), stride=2, padding=3)
        flow_out = torch.nn.functional.conv2d(
            grey.expand(-1, 20, -1, -1), flow.conv1.weight.double(), stride=2, padding=3
        )
    # Tolerance covers the flow filter's mean being stored in float32.
    torch.testing.assert_close(flow_out, rgb_out * (20 / 3), rtol=1e-5, atol=1e-6)


def test_the_source_model_is_not_modified_and_a_state_dict_works_too():
    torch.manual_seed(1)
    rgb = resnet50()
    before = rgb.conv1.weight.detach().clone()
    from_state = flow_resnet50_from_rgb(rgb.state_dict(), in_channels=6)
    assert torch.equal(rgb.conv1.weight, before)
    assert from_state.conv1.weight.shape == (64, 6, 7, 7)
    with torch.no_grad():
        assert from_state.forward_features(torch.randn(1, 6, 64, 64)).shape == (1, 2048)


def test_rejects_a_source_that_is_not_an_rgb_resnet():
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        flow_resnet50_from_rgb(resnet50(in_channels=20))
    with pytest.raises(ValueError, match="not a ResNet state dict"):
        flow_resnet50_from_rgb({"weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="4-D"):
        cross_modality_conv_weight(torch.zeros(3, 3), 20)
