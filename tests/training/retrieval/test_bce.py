"""The BCE head (Prétet et al.): all-pairs scoring equals row-wise scoring; training pairs and negatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.errors import TrainingInputError
from training.retrieval.bce import BCEHead, bce_pair_loss
from training.retrieval.trainer import FitConfig, PairSet, _negatives, build_model, fit_pairs


def test_all_pairs_scores_equal_the_row_wise_head():
    torch.manual_seed(0)
    head = BCEHead(6, (16, 4))
    video, music = torch.randn(5, 6), torch.randn(7, 6)
    grid = head.all_pairs(video, music, chunk=50)  # forces several chunks
    for i in range(5):
        np.testing.assert_allclose(
            grid[i].detach().numpy(), head(video[i].expand(7, 6), music).detach().numpy(), rtol=1e-5, atol=1e-6
        )


def test_the_bce_loss_prefers_matches_and_the_model_similarity_is_bounded():
    torch.manual_seed(0)
    head = BCEHead(4, (8, 4))
    video = torch.randn(6, 4)
    negatives = torch.roll(torch.arange(6), 1)
    loss = bce_pair_loss(head, video, video.clone(), negatives)
    assert loss.item() > 0
    # Rows whose negative clashes are dropped from the negatives only; negatives index the whole batch.
    valid = torch.tensor([True, False, True, True, False, True])
    with torch.no_grad():
        logits = torch.cat([head(video, video), head(video[valid], video[negatives[valid]])])
        targets = torch.cat([torch.ones(6), torch.zeros(4)])
        expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
        assert bce_pair_loss(head, video, video, negatives, valid).item() == pytest.approx(expected.item())
    model = build_model(3, 5, FitConfig(loss="bce", video_layers=(8, 4), music_layers=(8, 4), bce_hidden=(8, 4)))
    model.eval()
    with torch.no_grad():
        similarity = model.similarity(model.embed_video(torch.randn(4, 3)), model.embed_music(torch.randn(9, 5)))
    assert similarity.shape == (4, 9) and float(similarity.abs().max()) <= 1.0


def test_negatives_never_come_from_the_same_music_video():
    groups = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3])
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        choice, ok = _negatives(groups, generator)
        assert bool(ok.all()) and bool((groups[choice] != groups).all())


def test_a_bce_model_learns_a_planted_match():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(80, 3))
    pairs = PairSet(
        video=(latent @ rng.normal(size=(3, 6)) + 0.1 * rng.normal(size=(80, 6))).astype(np.float32),
        music=(latent @ rng.normal(size=(3, 5)) + 0.1 * rng.normal(size=(80, 5))).astype(np.float32),
        groups=np.arange(80),
    )
    train = PairSet(pairs.video[:60], pairs.music[:60], pairs.groups[:60])
    val = PairSet(pairs.video[60:], pairs.music[60:], pairs.groups[60:])
    config = FitConfig(loss="bce", video_layers=(32, 16), music_layers=(32, 16), bce_hidden=(32, 8), epochs=80, lr=3e-3)
    model, history = fit_pairs(train, val, config, seed=0)
    with torch.no_grad():
        s = model.similarity(
            model.embed_video(torch.as_tensor(val.video)), model.embed_music(torch.as_tensor(val.music))
        )
    ranks = (s >= s.diagonal()[:, None]).sum(dim=1).float()
    assert float(ranks.mean()) < 4  # of 20 candidates; chance is 10.5
    assert history[0]["val_loss"] > min(h["val_loss"] for h in history)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"loss": "hinge"}, "loss must be one of"),
        ({"video_layers": (8, 4)}, "same embedding size"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_bad_training_options_are_refused(options, message):
    with pytest.raises(TrainingInputError, match=message):
        FitConfig(**options)
    with pytest.raises(TrainingInputError, match="unknown training option"):
        FitConfig.from_dict({"learning_rate": 1})
