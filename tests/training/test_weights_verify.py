"""``python -m training weights verify``: the sha256 prefix in a torch.hub-style name, and a strict load."""

import hashlib

import pytest
import torch

from training.backbones.i3d import InceptionI3d
from training.backbones.resnet import resnet50
from training.cli import main
from training.weights import ENV_I3D_FLOW, ENV_RESNET50, ENV_VGGISH, ENV_VGGISH_PCA, verify_weights


@pytest.fixture(autouse=True)
def no_weights_in_environment(monkeypatch):
    for name in (ENV_RESNET50, ENV_I3D_FLOW, ENV_VGGISH, ENV_VGGISH_PCA):
        monkeypatch.delenv(name, raising=False)


def save_named(state: dict, folder, stem: str, suffix: str = ".pth"):
    raw = folder / f"raw{suffix}"
    torch.save(state, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    named = folder / f"{stem}-{digest[:8]}{suffix}"
    raw.rename(named)
    return named, digest


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory):
    return save_named(resnet50().state_dict(), tmp_path_factory.mktemp("weights"), "resnet50")


def test_a_checkpoint_whose_hash_matches_its_name_and_loads_strictly_passes(resnet_file, capsys):
    path, digest = resnet_file
    [resnet] = [r for r in verify_weights({"resnet50": path}) if r.role == "resnet50"]
    assert resnet.ok and resnet.sha256 == digest
    assert main(["weights", "verify", "--resnet50-weights", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"sha256 {digest}" in out and "1 weights file(s) verified" in out
    assert "resnet50-0676ba61.pth" in out  # the published names are listed for comparison


def test_a_file_whose_content_does_not_match_the_hash_in_its_name_fails(resnet_file, tmp_path, capsys):
    path, digest = resnet_file
    tampered = tmp_path / f"resnet50-{'0' * 8 if not digest.startswith('0' * 8) else '1' * 8}.pth"
    tampered.write_bytes(path.read_bytes())
    assert main(["weights", "verify", "--resnet50-weights", str(tampered)]) == 2
    captured = capsys.readouterr()
    assert "FAIL sha256 starts with" in captured.out and "resnet50 failed verification" in captured.err


def test_the_wrong_checkpoint_for_a_role_fails_the_strict_load(tmp_path, capsys):
    path, _ = save_named(InceptionI3d(num_classes=400, in_channels=2).state_dict(), tmp_path, "resnet50")
    assert main(["weights", "verify", "--resnet50-weights", str(path)]) == 2
    assert "FAIL loads strictly into its architecture" in capsys.readouterr().out


def test_nothing_configured_is_a_clear_error(capsys):
    assert main(["weights", "verify"]) == 2
    assert "no weights file is configured" in capsys.readouterr().err
