from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from training.preference.model import PreferenceConfig, PreferenceNet


def _model(seed: int) -> PreferenceNet:
    torch.manual_seed(seed)
    model = PreferenceNet(PreferenceConfig(query_dim=7, option_dim=5, embed_dim=6, hidden_dim=4))
    return model.eval()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 9))
def test_swapping_the_options_gives_the_complementary_probability(seed, n):
    model = _model(seed)
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(n, 7, generator=generator)
    a = torch.randn(n, 5, generator=generator) * 3
    b = torch.randn(n, 5, generator=generator) * 3
    p_ab = model.symmetric_probability(query, a, b)
    p_ba = model.symmetric_probability(query, b, a)
    torch.testing.assert_close(p_ab + p_ba, torch.ones(n), atol=1e-6, rtol=0)


def test_raw_head_is_not_symmetric_so_the_averaging_matters():
    model = _model(1)
    query, a, b = torch.randn(4, 7), torch.randn(4, 5), torch.randn(4, 5)
    raw_ab = torch.sigmoid(model(query, a, b))
    raw_ba = torch.sigmoid(model(query, b, a))
    assert not torch.allclose(raw_ab + raw_ba, torch.ones(4), atol=1e-3)


def test_identical_options_score_exactly_one_half():
    model = _model(2)
    query, a = torch.randn(3, 7), torch.randn(3, 5)
    torch.testing.assert_close(model.symmetric_probability(query, a, a), torch.full((3,), 0.5))


def test_both_options_share_one_audio_projection():
    model = _model(3)
    # A single option network: A and B are embedded with the same weights (Langlois Fig. 4).
    option_layers = [m for m in model.option_net if isinstance(m, torch.nn.Linear)]
    assert len(option_layers) == 1
    assert model.head[0].in_features == 3 * model.config.embed_dim
