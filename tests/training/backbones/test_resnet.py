"""ResNet-50 must be torchvision's, key for key, so the public ImageNet checkpoint loads strictly."""

import torch

from training.backbones.resnet import resnet50


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_matches_torchvision_resnet50():
    assert count_parameters(resnet50()) == 25_557_032


def test_state_dict_layout_matches_torchvision():
    state = resnet50().state_dict()
    # 53 conv weights + 53 BN x (weight, bias, running_mean, running_var, num_batches_tracked) + fc weight/bias
    assert len(state) == 53 + 53 * 5 + 2
    expected_shapes = {
        "conv1.weight": (64, 3, 7, 7),
        "bn1.running_var": (64,),
        "layer1.0.conv1.weight": (64, 64, 1, 1),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "layer1.0.downsample.1.running_mean": (256,),
        "layer2.0.conv2.weight": (128, 128, 3, 3),
        "layer3.5.bn3.weight": (1024,),
        "layer4.2.conv3.weight": (2048, 512, 1, 1),
        "fc.weight": (1000, 2048),
        "fc.bias": (1000,),
    }
    for key, shape in expected_shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert "layer1.1.downsample.0.weight" not in state  # only the first block of a stage projects


def test_stride_sits_on_the_3x3_convolution_as_in_torchvision_v1_5():
    model = resnet50()
    for stage in (model.layer2, model.layer3, model.layer4):
        first = stage[0]
        assert first.conv1.stride == (1, 1)
        assert first.conv2.stride == (2, 2)
        assert first.downsample[0].stride == (2, 2)


def test_forward_features_is_the_pooled_input_of_fc():
    torch.manual_seed(0)
    model = resnet50().eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(images)
        logits = model(images)
    assert features.shape == (2, 2048)
    torch.testing.assert_close(logits, model.fc(features))


def test_num_classes_only_changes_the_classifier():
    model = resnet50(num_classes=7)
    assert model.fc.weight.shape == (7, 2048)
    assert count_parameters(model) == 25_557_032 - 2048 * 993 - 993
