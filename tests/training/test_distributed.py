"""Two processes under DistributedDataParallel (gloo, CPU) update the model exactly as one process does.

The global batch of 8 is split 4 + 4 over the processes; DDP averages the gradients, so after two
epochs the weights equal those of one process on batches of 8 (up to float summation order).
"""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from tests.training.finetune.planted import flow_model, planted_dataset
from training import distributed
from training.finetune.pipeline import set_head_normalisation
from training.finetune.trainer import FineTuneSettings, fit

pytestmark = pytest.mark.slow
SETTINGS = FineTuneSettings(epochs=2, patience=2, batch_size=8, lr=3e-3, backbone_lr=1e-4, workers=0, seed=3)


def _train(context: distributed.Context, folder, out) -> None:
    torch.set_num_threads(1)
    data = planted_dataset(folder)
    model = flow_model("layer4", dropout=0.0)
    set_head_normalisation(model, data.items, data.clips, data.audio, context=context, precision="fp32")
    result = fit(model, data, data, SETTINGS, context=context, progress=False)
    if context.is_main:
        torch.save({"state": model.state_dict(), "history": result.history}, out)


def _worker(rank: int, world_size: int, port: int, folder, out) -> None:
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_RANK": str(rank),
        }
    )
    context = distributed.setup("cpu")
    assert context.world_size == world_size and context.distributed
    try:
        _train(context, folder, out)
    finally:
        distributed.teardown(context)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_ddp_matches_one_process_on_the_same_global_batches(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), tmp_path / "data", tmp_path / "ddp.pt"), nprocs=2, join=True)
    _train(distributed.Context(device=torch.device("cpu")), tmp_path / "data", tmp_path / "single.pt")
    ddp, single = torch.load(tmp_path / "ddp.pt"), torch.load(tmp_path / "single.pt")
    for key, value in single["state"].items():
        torch.testing.assert_close(ddp["state"][key], value, rtol=1e-4, atol=1e-5, msg=lambda m, key=key: f"{key}: {m}")
    for a, b in zip(ddp["history"], single["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)


def test_the_global_batch_must_divide_over_the_processes():
    from training.errors import TrainingInputError

    with pytest.raises(TrainingInputError, match="multiple of the 3 processes"):
        distributed.per_process_batch(8, distributed.Context(world_size=3))
    assert distributed.per_process_batch(8, distributed.Context(world_size=2)) == 4
