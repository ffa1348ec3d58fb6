"""Device and precision selection (the CUDA path itself runs in tests/training/finetune where a GPU exists)."""

import pytest
import torch

from training.device import autocast, grad_scaler, loader_options, resolve_device, resolve_precision
from training.errors import TrainingInputError


def test_auto_picks_cuda_when_present_else_the_cpu():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_asking_for_cuda_without_one_is_a_clear_error_not_a_silent_cpu_run():
    with pytest.raises(TrainingInputError, match="no CUDA device"):
        resolve_device("cuda")


def test_precision_defaults_per_device():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, training=True) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(TrainingInputError, match="fp16 needs a GPU"):
        resolve_precision("fp16", cpu)
    with pytest.raises(TrainingInputError, match="--precision"):
        resolve_precision("fp8", cpu)
    cuda = torch.device("cuda", 0)
    assert resolve_precision("auto", cuda, training=True) == "fp16"


def test_bf16_autocast_on_cpu_and_no_loss_scaling_off_cuda():
    layer = torch.nn.Linear(4, 4)
    with autocast(torch.device("cpu"), "bf16"):
        assert layer(torch.randn(2, 4)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert layer(torch.randn(2, 4)).dtype == torch.float32
    assert not grad_scaler(torch.device("cpu"), "bf16").is_enabled()


def test_loader_options_pin_memory_only_for_cuda():
    assert loader_options(torch.device("cpu"), 2) == {"num_workers": 2, "pin_memory": False, "persistent_workers": True}
    assert loader_options(torch.device("cuda", 0), 0)["pin_memory"] is True
    with pytest.raises(TrainingInputError):
        loader_options(torch.device("cpu"), -1)
