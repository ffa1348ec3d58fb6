"""Checkpoint-and-resume, accumulation and devices of the fine-tuning loop (CPU, tiny inputs, random init)."""

import pytest
import torch

from tests.training.finetune.planted import flow_model, planted_dataset
from training import distributed
from training.errors import TrainingInputError
from training.finetune.pipeline import set_head_normalisation
from training.finetune.trainer import FineTuneSettings, fit

pytestmark = pytest.mark.slow
CPU = distributed.Context(device=torch.device("cpu"))
SETTINGS = FineTuneSettings(epochs=3, patience=3, batch_size=8, lr=3e-3, backbone_lr=1e-4, workers=0, seed=5)


class Interrupted(Exception):
    pass


def _model(data, *, dropout=0.3):
    model = flow_model("layer4", dropout=dropout)
    set_head_normalisation(model, data.items, data.clips, data.audio, context=CPU, precision="fp32")
    return model


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [key for key in a if not torch.equal(a[key], b[key])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    data = planted_dataset(tmp_path / "data")
    torch.manual_seed(123)  # dropout draws from the global generator
    whole = _model(data)
    result = fit(whole, data, data, SETTINGS, context=CPU, state_path=tmp_path / "whole.pt", progress=False)

    torch.manual_seed(123)
    first = _model(data)

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        fit(
            first,
            data,
            data,
            SETTINGS,
            context=CPU,
            state_path=tmp_path / "run.pt",
            on_epoch=stop_after_two,
            progress=False,
        )
    torch.manual_seed(999)  # a new process: nothing carries over but the state file
    resumed = _model(data)
    again = fit(resumed, data, data, SETTINGS, context=CPU, state_path=tmp_path / "run.pt", resume=True, progress=False)

    assert again.resumed_from == 2 and [row["epoch"] for row in again.history] == [1, 2, 3]
    _assert_same_weights(whole.state_dict(), resumed.state_dict())
    _assert_same_weights(result.best_state, again.best_state)
    assert [row["train_loss"] for row in result.history] == [row["train_loss"] for row in again.history]


def test_resuming_with_other_settings_is_refused(tmp_path):
    data = planted_dataset(tmp_path / "data")
    fit(_model(data), data, data, SETTINGS, context=CPU, state_path=tmp_path / "run.pt", progress=False)
    other = FineTuneSettings(**{**SETTINGS.to_dict(), "lr": 1e-2})
    with pytest.raises(TrainingInputError, match="other training settings"):
        fit(_model(data), data, data, other, context=CPU, state_path=tmp_path / "run.pt", resume=True, progress=False)


def test_gradient_accumulation_gives_the_update_of_the_whole_batch(tmp_path):
    data = planted_dataset(tmp_path / "data")
    one = _model(data, dropout=0.0)
    fit(one, data, data, FineTuneSettings(**{**SETTINGS.to_dict(), "epochs": 1}), context=CPU, progress=False)
    four = _model(data, dropout=0.0)
    split = FineTuneSettings(**{**SETTINGS.to_dict(), "epochs": 1, "accumulate": 4})
    fit(four, data, data, split, context=CPU, progress=False)
    for key, value in one.state_dict().items():
        torch.testing.assert_close(four.state_dict()[key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible to torch (CPU-only build or no GPU)")
def test_fine_tuning_runs_on_cuda_with_fp16_autocast_and_loss_scaling(tmp_path):
    data = planted_dataset(tmp_path / "data")
    cuda = distributed.Context(device=torch.device("cuda", 0))
    model = _model(data, dropout=0.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings = FineTuneSettings(**{**SETTINGS.to_dict(), "precision": "fp16", "workers": 2})
    result = fit(model, data, data, settings, context=cuda, state_path=tmp_path / "cuda.pt", progress=False)
    assert all(torch.isfinite(torch.tensor(row["train_loss"])) for row in result.history)
    assert next(model.parameters()).device.type == "cuda"
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v.cpu(), before[k])]
    assert any(k.startswith("backbones.flow.layer4") for k in changed)
