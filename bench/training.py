"""Training throughput on this machine, measured side by side in one run.

1. Achievable GFLOP/s: a large float32 matmul (2 n^3 FLOPs), with 1 thread and with every core.
2. ResNet-50 feature extraction at 224x224, batch 16, in images/s, next to the FLOP bound
   (achievable GFLOP/s / 4.1 GFLOPs per image) for the same thread count, and their ratio.
3. One epoch of the preference head (Langlois Fig. 4) on 21,159 cached 2AFC items with synthetic
   embeddings of the real sizes (RGB 2048 + flow 2048 or I3D 1024 per clip, VGGish 128 per excerpt,
   4,756 distinct excerpts as in the paper); target < 5 s per epoch.

Run: ``python bench/training.py`` (about a minute). The machine is shared, so the load average is
printed before and after; compare ratios, not absolute numbers, across runs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.backbones.resnet import resnet50
from training.preference.data import PreferenceTensors
from training.preference.fit import evaluate, train_one_epoch
from training.preference.model import PreferenceConfig, PreferenceNet

RESNET50_GFLOPS = 4.1  # per 224x224 image (multiply-adds counted as 2 FLOPs)
ITEMS = 21_159  # Langlois' 2AFC set: one choice per video
EXCERPTS = 4_756


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def matmul_gflops(threads: int, n: int = 2048, repeats: int = 8) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def resnet_images_per_second(threads: int, batches: int = 3) -> float:
    torch.set_num_threads(threads)
    model = resnet50().eval()
    images = torch.randn(16, 3, 224, 224)
    best = float("inf")
    with torch.inference_mode():
        model.forward_features(images)  # warm-up
        for _ in range(batches):
            started = time.perf_counter()
            model.forward_features(images)
            best = min(best, time.perf_counter() - started)
    # Best batch, like the best matmul: on a shared machine both measure the least-disturbed moment.
    return 16 / best


def head_epoch_seconds(query_dim: int, epochs: int = 3) -> tuple[float, float]:
    torch.set_num_threads(1)  # the pipelines train heads on one thread (training/runs.py: torch_threads)
    generator = torch.Generator().manual_seed(0)
    data = PreferenceTensors(
        queries=torch.randn(ITEMS, query_dim, generator=generator),
        options=torch.rand(EXCERPTS, 128, generator=generator) * 255,  # VGGish postprocessed range
        query_index=torch.arange(ITEMS),
        a_index=torch.randint(0, EXCERPTS, (ITEMS,), generator=generator),
        b_index=torch.randint(0, EXCERPTS, (ITEMS,), generator=generator),
        labels=(torch.rand(ITEMS, generator=generator) < 0.5).float(),
    )
    model = PreferenceNet(PreferenceConfig(query_dim=query_dim, option_dim=128))
    model.set_normalisation(**data.normalisation())
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        train_one_epoch(model, data, optimiser, batch_size=256, generator=generator)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    evaluate(model, data)
    return min(times), time.perf_counter() - started


def main() -> None:
    cores = os.cpu_count() or 1
    print(f"mvfit training benchmark - torch {torch.__version__}, {load()}")
    print()
    print("Feature extraction: ResNet-50, 224x224, batch 16 (random weights; speed does not depend on them)")
    print(f"{'threads':>8} {'matmul GFLOP/s':>15} {'FLOP bound img/s':>17} {'measured img/s':>15} {'ratio':>7}")
    for threads in sorted({1, cores}):
        gflops = matmul_gflops(threads)
        bound = gflops / RESNET50_GFLOPS
        measured = resnet_images_per_second(threads)
        print(f"{threads:>8} {gflops:>15.1f} {bound:>17.1f} {measured:>15.1f} {measured / bound:>7.2f}")
    print()
    print(f"Preference head: one epoch over {ITEMS:,} cached 2AFC items (batch 256, Adam, 1 thread); target < 5 s")
    print(f"{'variant':>12} {'visual dim':>11} {'epoch s':>9} {'eval s':>8} {'target met':>11}")
    for variant, dim in (("two-stream", 4096), ("i3d", 3072)):
        epoch, evaluation = head_epoch_seconds(dim)
        print(f"{variant:>12} {dim:>11} {epoch:>9.2f} {evaluation:>8.2f} {'yes' if epoch < 5 else 'NO':>11}")
    print()
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
