"""``--train-from``: which parameters train, frozen BatchNorm statistics, and BN folding for extraction."""

import pytest
import torch

from training.backbones.i3d import InceptionI3d
from training.backbones.resnet import fuse_batchnorm, resnet50
from training.backbones.stages import STAGES, freeze_batchnorm_statistics, set_trainable
from training.errors import TrainingInputError


def trainable_prefixes(model) -> set[str]:
    return {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("conv1", {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"}),
        ("layer3", {"layer3", "layer4"}),
        ("layer4", {"layer4"}),
        ("head", set()),
    ],
)
def test_resnet_stages_from_the_chosen_one_on_train(stage, expected):
    model = resnet50()
    params = set_trainable(model, stage)
    assert trainable_prefixes(model) == expected  # fc (unused by the features) never trains
    assert sum(p.numel() for p in params) == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_i3d_stages_follow_the_same_output_strides():
    model = InceptionI3d(num_classes=400, in_channels=2)
    set_trainable(model, "layer4")
    assert trainable_prefixes(model) == {"Mixed_5b", "Mixed_5c"}
    set_trainable(model, "layer3")
    assert trainable_prefixes(model) == {f"Mixed_4{c}" for c in "bcdef"} | {"Mixed_5b", "Mixed_5c"}
    assert set(STAGES) >= {"conv1", "layer3", "layer4", "head"}
    with pytest.raises(TrainingInputError, match="--train-from"):
        set_trainable(model, "layer5")


def test_frozen_batchnorm_keeps_running_statistics_in_training_mode():
    model = resnet50()
    model.train()
    freeze_batchnorm_statistics(model)
    before = model.bn1.running_mean.clone()
    model.forward_features(torch.randn(2, 3, 64, 64))
    assert torch.equal(model.bn1.running_mean, before) and not model.bn1.training and model.layer1.training


def test_folding_batchnorm_keeps_the_features():
    model = resnet50().eval()
    for module in model.modules():  # non-trivial statistics, as a trained network has
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            fuse_batchnorm(model).forward_features(images), model.forward_features(images), rtol=1e-4, atol=1e-4
        )
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original is untouched
