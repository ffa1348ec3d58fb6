"""VGGish must match torchvggish: keys, parameter count, NHWC flattening and the PCA postprocess."""

import numpy as np
import pytest
import torch

from training.backbones.vggish import VGGish

TORCHVGGISH_KEYS = [
    "features.0.weight",
    "features.0.bias",
    "features.3.weight",
    "features.3.bias",
    "features.6.weight",
    "features.6.bias",
    "features.8.weight",
    "features.8.bias",
    "features.11.weight",
    "features.11.bias",
    "features.13.weight",
    "features.13.bias",
    "embeddings.0.weight",
    "embeddings.0.bias",
    "embeddings.2.weight",
    "embeddings.2.bias",
    "embeddings.4.weight",
    "embeddings.4.bias",
]
PCA_KEYS = ["pproc.pca_eigen_vectors", "pproc.pca_means"]


def conv(c_in: int, c_out: int) -> int:
    return c_in * c_out * 9 + c_out


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def test_parameters_count_the_network_weights_and_pca_is_in_buffers():
    model = VGGish(postprocess=True)
    by_hand = (conv(1, 64) + conv(64, 128) + conv(128, 256) + conv(256, 256) + conv(256, 512) + conv(512, 512)) + (
        dense(512 * 6 * 4, 4096) + dense(4096, 4096) + dense(4096, 128)
    )
    assert by_hand == 72_141_184
    # model.parameters(): the 18 conv/dense tensors only; the PCA matrix and means are buffers.
    assert sum(p.numel() for p in model.parameters()) == 72_141_184
    # The state dict (what a checkpoint holds) adds the 128x128 PCA matrix and 128x1 means.
    assert sum(t.numel() for t in model.state_dict().values()) == 72_141_184 + 128 * 128 + 128


def test_state_dict_keys_are_torchvggish_keys():
    assert list(VGGish(postprocess=True).state_dict()) == TORCHVGGISH_KEYS + PCA_KEYS
    assert list(VGGish(postprocess=False).state_dict()) == TORCHVGGISH_KEYS


def test_classifier_input_is_flattened_in_tensorflow_nhwc_order():
    torch.manual_seed(0)
    model = VGGish(postprocess=False).eval()
    examples = torch.randn(3, 1, 96, 64)
    with torch.no_grad():
        feature_map = model.features(examples)  # (N, C=512, H=6 time, W=4 mel)
        # Element [n, c, h, w] lands at index (h * 4 + w) * 512 + c.
        manual = torch.stack([feature_map[n].permute(1, 2, 0).flatten() for n in range(3)])
        torch.testing.assert_close(model(examples), model.embeddings(manual))


def test_postprocess_is_pca_then_clip_then_8_bit_quantisation():
    torch.manual_seed(0)
    model = VGGish(postprocess=True).eval()
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(128, 128)).astype(np.float32)
    means = rng.normal(size=(128, 1)).astype(np.float32)
    model.pproc.pca_eigen_vectors.copy_(torch.from_numpy(matrix))
    model.pproc.pca_means.copy_(torch.from_numpy(means))
    examples = torch.randn(4, 1, 96, 64)
    with torch.no_grad():
        raw = model.raw_embeddings(examples).numpy()
        out = model(examples).numpy()
    whitened = (matrix.astype(np.float64) @ (raw.T - means)).T
    expected = np.round((np.clip(whitened, -2.0, 2.0) + 2.0) * 255.0 / 4.0)
    assert out.shape == (4, 128)
    # float32 vs float64 PCA may flip a value sitting on a rounding boundary by one step
    assert np.abs(out - expected).max() <= 1.0
    assert np.mean(out == expected) > 0.99
    assert out.min() >= 0 and out.max() <= 255 and np.all(out == np.round(out))


def test_single_example_keeps_its_batch_dimension():
    with torch.no_grad():
        assert VGGish().eval()(torch.randn(1, 1, 96, 64)).shape == (1, 128)


def test_raw_embeddings_are_non_negative_after_the_final_relu():
    with torch.no_grad():
        assert (VGGish(postprocess=False).eval()(torch.randn(2, 1, 96, 64)) >= 0).all()


def test_wrong_example_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(N, 1, 96, 64\)"):
        VGGish()(torch.randn(2, 96, 64))
