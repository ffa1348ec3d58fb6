"""The GPU check of training/ (issue 14), for a machine with an NVIDIA GPU and a CUDA build of torch.

    python bench/gpu_check.py            # about 5 minutes on one GPU; prints a timing per step

Steps (each timed; the script stops at the first failure with its output):

1. environment: torch, CUDA, the device, bf16 support;
2. the CUDA tests: ``tests/training/test_device.py`` and the fp16-autocast + GradScaler fine-tuning
   test in ``tests/training/finetune/test_trainer.py`` (skipped on CPU-only machines);
3. a planted synthetic export (ffmpeg), then ``torchrun --nproc-per-node 1`` fine-tuning through the
   CLI: NCCL process group, DistributedDataParallel, DataLoader workers with pinned memory, fp16 AMP,
   checkpoint, then ``evaluate-preference`` of the run on the GPU;
4. throughput: ResNet-50 at 224x224, batch 128, channels-last - inference in fp32 / bf16 / fp16 and one
   fp16 AMP training step - in images/s and TFLOP/s, against the GPU's measured matmul peak
   (8192^2 bf16/fp16) and, for an H100/H200 (SXM), the datasheet's dense peak.

Nothing is downloaded (random-init backbones). The test database variables are set only so that the
project's pytest configuration loads; these tests use no database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESNET50_GFLOPS = 4.1
DATASHEET_DENSE_TFLOPS = {
    "H100": {"bf16": 989.0, "fp16": 989.0, "tf32": 494.0},
    "H200": {"bf16": 989.0, "fp16": 989.0, "tf32": 494.0},
}
ENV = {
    **os.environ,
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
    "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    "DJANGO_SETTINGS_MODULE": "webapp.settings",
    "DJANGO_SECRET_KEY": "gpu-check-not-a-secret",
    "MVFIT_PSEUDONYM_KEY": "gpu-check-not-a-secret",
    "CELERY_TASK_ALWAYS_EAGER": "1",
}


def step(title: str, command: list[str], *, timeout: int) -> float:
    print(f"\n== {title}\n$ {' '.join(command)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=ENV, timeout=timeout, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
    print("\n".join(tail))
    if result.returncode != 0:
        print(f"FAILED ({result.returncode}) after {seconds:.1f} s")
        sys.exit(1)
    print(f"-- {seconds:.1f} s")
    return seconds


def environment() -> None:
    import torch

    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available {torch.cuda.is_available()}")
    if not torch.cuda.is_available():
        print("No CUDA device visible to torch: this check needs a GPU and a CUDA build of torch.")
        sys.exit(1)
    props = torch.cuda.get_device_properties(0)
    print(
        f"device 0: {props.name}, {props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs, bf16 {torch.cuda.is_bf16_supported()}"
    )


def matmul_tflops(dtype, n: int = 8192, repeats: int = 20) -> float:
    import torch

    a, b = torch.randn(n, n, device="cuda", dtype=dtype), torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - started) / 1e12


def throughput() -> None:
    import torch

    from training.backbones.resnet import fuse_batchnorm, resnet50

    print("\n== throughput: ResNet-50, 224x224, batch 128, channels-last")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    peaks = {name: matmul_tflops(dtype) for name, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16))}
    peaks["tf32"] = matmul_tflops(torch.float32)
    name = torch.cuda.get_device_properties(0).name
    sheet = next((v for key, v in DATASHEET_DENSE_TFLOPS.items() if key in name), None)
    print("measured matmul peak: " + ", ".join(f"{k} {v:.0f} TFLOP/s" for k, v in peaks.items()))
    model = fuse_batchnorm(resnet50().eval()).cuda().to(memory_format=torch.channels_last)
    images = torch.randn(128, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    for precision, dtype in (("tf32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        context = torch.autocast("cuda", dtype=dtype) if dtype else torch.autocast("cuda", enabled=False)
        with torch.inference_mode(), context:
            for _ in range(3):
                model.forward_features(images)
            torch.cuda.synchronize()
            started = time.perf_counter()
            for _ in range(10):
                model.forward_features(images)
            torch.cuda.synchronize()
        rate = 1280 / (time.perf_counter() - started)
        tflops = rate * RESNET50_GFLOPS / 1e3
        versus = f", {tflops / sheet[precision]:.2f} of the datasheet's {sheet[precision]:.0f}" if sheet else ""
        print(
            f"inference {precision}: {rate:,.0f} images/s = {tflops:.0f} TFLOP/s, {tflops / peaks[precision]:.2f} of the matmul peak{versus}"
        )
    train = resnet50().cuda().to(memory_format=torch.channels_last).train()
    optimiser = torch.optim.SGD(train.parameters(), lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda")
    batch = images[:64]
    for index in range(13):
        if index == 3:
            torch.cuda.synchronize()
            started = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.float16):
            loss = train(batch).float().logsumexp(dim=1).mean()
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()
    torch.cuda.synchronize()
    rate = 640 / (time.perf_counter() - started)
    print(
        f"training step fp16 AMP + GradScaler, batch 64: {rate:,.0f} images/s (~{3 * rate * RESNET50_GFLOPS / 1e3:.0f} TFLOP/s at 3x the forward FLOPs)"
    )


def main() -> None:
    started = time.perf_counter()
    environment()
    python = sys.executable
    step(
        "CUDA tests (device selection, fp16 AMP fine-tuning)",
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/training/test_device.py",
            "tests/training/finetune/test_trainer.py",
            "-k",
            "cuda or device or precision or loader or bf16",
        ],
        timeout=240,
    )
    with tempfile.TemporaryDirectory(prefix="mvfit-gpu-check-") as tmp:
        export, run, cache = f"{tmp}/export", f"{tmp}/run", f"{tmp}/cache"
        step(
            "planted synthetic export",
            [
                python,
                "-m",
                "training",
                "make-synthetic-export",
                "--out",
                export,
                "--videos",
                "24",
                "--tracks",
                "8",
                "--trials",
                "8",
                "--size",
                "112",
                "--quiet",
            ],
            timeout=120,
        )
        backbones = [
            "--random-init",
            "--frame-size",
            "112",
            "--flow-method",
            "farneback",
            "--cache-dir",
            cache,
            "--device",
            "cuda",
        ]
        step(
            "torchrun --nproc-per-node 1 (NCCL, DDP, fp16 AMP, pinned DataLoader workers): fine-tune from conv1",
            ["torchrun", "--standalone", "--nproc-per-node", "1", "-m", "training", "train-preference", "--export", export, "--out", run,
             *backbones, "--fine-tune", "--train-from", "conv1", "--epochs", "3", "--batch-size", "32", "--workers", "2", "--quiet"],
            timeout=300,
        )  # fmt: skip
        step(
            "evaluate-preference on the GPU",
            [python, "-m", "training", "evaluate-preference", "--run", run, "--device", "cuda", "--quiet"],
            timeout=120,
        )
    throughput()
    print(f"\nGPU check passed in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
