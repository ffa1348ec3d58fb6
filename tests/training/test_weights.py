"""Checkpoints load strictly from local files; a wrong file gets an error naming what is wrong."""

import logging
import zipfile

import numpy as np
import pytest
import torch

from training.backbones.flow_stem import flow_resnet50_from_rgb
from training.backbones.i3d import InceptionI3d
from training.backbones.resnet import resnet50
from training.backbones.vggish import VGGish
from training.weights import (
    ENV_I3D_FLOW,
    ENV_RESNET50,
    ENV_VGGISH,
    ENV_VGGISH_PCA,
    CheckpointMismatchError,
    WeightPaths,
    load_flow_resnet50,
    load_i3d_flow,
    load_resnet50,
    load_state_dict_strict,
    load_vggish,
    read_state_dict,
    read_vggish_pca,
)


@pytest.fixture(autouse=True)
def no_weights_in_environment(monkeypatch):
    for name in (ENV_RESNET50, ENV_I3D_FLOW, ENV_VGGISH, ENV_VGGISH_PCA):
        monkeypatch.delenv(name, raising=False)


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory):
    torch.manual_seed(0)
    model = resnet50()
    model.bn1.running_mean.uniform_()  # buffers must round-trip too
    path = tmp_path_factory.mktemp("weights") / "resnet50-test.pth"
    torch.save(model.state_dict(), path)
    return model, path


def test_resnet50_round_trip_is_exact(resnet_file):
    model, path = resnet_file
    assert_same_state(load_resnet50(path), model)


def test_path_comes_from_the_environment_when_not_given(resnet_file, monkeypatch):
    model, path = resnet_file
    monkeypatch.setenv(ENV_RESNET50, str(path))
    assert_same_state(load_resnet50(), model)
    assert WeightPaths.from_env().resnet50 == path


def test_flow_resnet_is_derived_from_the_rgb_checkpoint(resnet_file):
    model, path = resnet_file
    assert_same_state(load_flow_resnet50(path), flow_resnet50_from_rgb(model))


def test_mismatched_checkpoint_names_missing_unexpected_and_reshaped_keys(resnet_file, tmp_path):
    model, _ = resnet_file
    state = flow_resnet50_from_rgb(model).state_dict()  # conv1 takes 20 channels, not 3
    del state["layer4.2.bn3.running_var"]
    state["head.weight"] = torch.zeros(3)
    bad = tmp_path / "not-a-resnet50.pth"
    torch.save(state, bad)
    with pytest.raises(CheckpointMismatchError) as excinfo:
        load_resnet50(bad)
    message = str(excinfo.value)
    assert str(bad) in message
    assert "missing keys (1): layer4.2.bn3.running_var" in message
    assert "unexpected keys (1): head.weight" in message
    assert "conv1.weight file [64, 20, 7, 7] vs model [64, 3, 7, 7]" in message
    assert excinfo.value.missing == ["layer4.2.bn3.running_var"]


def test_a_missing_file_names_the_variable_it_came_from(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_I3D_FLOW, str(tmp_path / "flow_imagenet.pt"))
    with pytest.raises(FileNotFoundError, match=ENV_I3D_FLOW):
        load_i3d_flow()


def test_no_path_means_random_initialisation_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="training.weights"):
        model = load_i3d_flow()
    assert isinstance(model, InceptionI3d)
    assert ENV_I3D_FLOW in caplog.text


def test_i3d_flow_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    model = InceptionI3d(num_classes=400, in_channels=2)
    path = tmp_path / "flow_imagenet.pt"
    torch.save(model.state_dict(), path)
    assert_same_state(load_i3d_flow(path), model)


def test_checkpoints_from_before_num_batches_tracked_load(resnet_file, tmp_path):
    """The original torchvision and pytorch-i3d files predate BatchNorm's num_batches_tracked counter."""
    model, _ = resnet_file
    old_style = {key: value for key, value in model.state_dict().items() if "num_batches_tracked" not in key}
    path = tmp_path / "resnet50-19c8e357.pth"
    torch.save(old_style, path)
    loaded = load_resnet50(path)
    for key, value in old_style.items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert loaded.bn1.num_batches_tracked.item() == 0


def test_i3d_rgb_checkpoint_is_rejected_for_the_flow_stream(tmp_path):
    path = tmp_path / "rgb_imagenet.pt"
    torch.save(InceptionI3d(num_classes=400, in_channels=3).state_dict(), path)
    with pytest.raises(CheckpointMismatchError, match=r"Conv3d_1a_7x7.conv3d.weight file \[64, 3, 7, 7, 7\]"):
        load_i3d_flow(path)


@pytest.fixture(scope="module")
def vggish_files(tmp_path_factory):
    """A torchvggish-style pair: network state dict, and a PCA dict of numpy arrays with flat means."""
    torch.manual_seed(0)
    network = VGGish(postprocess=False)
    rng = np.random.default_rng(0)
    pca = {"pca_eigen_vectors": rng.normal(size=(128, 128)), "pca_means": rng.normal(size=128)}
    folder = tmp_path_factory.mktemp("vggish")
    torch.save(network.state_dict(), folder / "vggish-10086976.pth")
    torch.save(pca, folder / "vggish_pca_params-970ea276.pth")
    np.savez(folder / "vggish_pca_params.npz", **pca)
    return network, pca, folder


def test_vggish_with_separate_pca_file_loads_like_torchvggish(vggish_files):
    network, pca, folder = vggish_files
    model = load_vggish(folder / "vggish-10086976.pth", folder / "vggish_pca_params-970ea276.pth")
    for key, value in network.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    expected_matrix = torch.from_numpy(pca["pca_eigen_vectors"]).float()
    assert torch.equal(model.pproc.pca_eigen_vectors, expected_matrix)
    assert model.pproc.pca_means.shape == (128, 1)
    assert torch.equal(model.pproc.pca_means[:, 0], torch.from_numpy(pca["pca_means"]).float())


def test_vggish_pca_from_audioset_npz_equals_the_pth(vggish_files):
    _, _, folder = vggish_files
    from_pth = read_vggish_pca(folder / "vggish_pca_params-970ea276.pth")
    from_npz = read_vggish_pca(folder / "vggish_pca_params.npz")
    for key in from_pth:
        assert torch.equal(from_pth[key], from_npz[key])


def test_vggish_full_state_dict_round_trip_and_postprocess_false(vggish_files, tmp_path, monkeypatch):
    _, _, folder = vggish_files
    monkeypatch.setenv(ENV_VGGISH, str(folder / "vggish-10086976.pth"))
    monkeypatch.setenv(ENV_VGGISH_PCA, str(folder / "vggish_pca_params-970ea276.pth"))
    model = load_vggish()
    path = tmp_path / "vggish-full.pth"
    torch.save(model.state_dict(), path)
    monkeypatch.delenv(ENV_VGGISH_PCA)
    assert_same_state(load_vggish(path), model)
    without_pca = load_vggish(path, postprocess=False)
    assert not hasattr(without_pca, "pproc")


def test_vggish_postprocess_without_pca_file_says_which_setting_is_missing(vggish_files):
    _, _, folder = vggish_files
    with pytest.raises(FileNotFoundError, match=ENV_VGGISH_PCA):
        load_vggish(folder / "vggish-10086976.pth")


def test_pca_file_with_other_keys_is_a_mismatch(tmp_path):
    path = tmp_path / "pca.pth"
    torch.save({"eigenvectors": torch.eye(128)}, path)
    with pytest.raises(CheckpointMismatchError, match="missing keys \\(2\\): pca_eigen_vectors, pca_means"):
        read_vggish_pca(path)


def test_pca_pickled_by_old_numpy_loads(tmp_path):
    """The published file predates numpy 2, so its pickle names ``numpy.core.multiarray``."""
    modern = tmp_path / "modern.pth"
    torch.save({"pca_eigen_vectors": np.eye(128), "pca_means": np.zeros(128)}, modern)
    legacy = tmp_path / "legacy.pth"
    with zipfile.ZipFile(modern) as source, zipfile.ZipFile(legacy, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("data.pkl"):
                assert b"numpy._core.multiarray" in data
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            target.writestr(item, data)
    assert torch.equal(read_vggish_pca(legacy)["pca_eigen_vectors"], torch.eye(128))


def test_files_that_are_not_state_dicts_are_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"cannot read .*garbage\.pth as a torch checkpoint"):
        read_state_dict(garbage)
    a_list = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], a_list)
    with pytest.raises(ValueError, match="holds a list, not a state dict"):
        read_state_dict(a_list)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, wrapped)
    assert torch.equal(read_state_dict(wrapped)["w"], torch.ones(2))


def test_load_state_dict_strict_accepts_an_exact_match_only():
    model = torch.nn.Linear(2, 3)
    load_state_dict_strict(model, {"weight": torch.ones(3, 2), "bias": torch.zeros(3)}, source="inline")
    assert torch.equal(model.weight, torch.ones(3, 2))
    with pytest.raises(CheckpointMismatchError, match="inline does not match Linear"):
        load_state_dict_strict(model, {"weight": torch.ones(3, 2)}, source="inline")
