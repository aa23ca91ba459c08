#!/usr/bin/env python3
"""GPU benchmark: dlx against PyTorch eager, same GPU, network, data and hyperparameters.

The eager side is written as a PyTorch user would write it for speed, not as d2l does (d2l's
DataLoader resizes on the CPU, image by image): Fashion-MNIST resident on the GPU as uint8, each
batch gathered, scaled to [0, 1] and resized there (bilinear, as dlx does), channels-last as in
experiments/alexnet-fashion-mnist.yaml, SGD at lr 0.01, batch 128, Xavier-uniform init.
Each repeat is a fresh process per side, interleaved ABBA; each trains two epochs and the second,
past cuDNN's warm-up, is the one measured. Prints medians, their ratio, the GPU's float32 matrix
rate (with TF32, which cuDNN's convolutions use by default, and without) and dlx's achieved
training FLOP/s against the TF32 rate; writes the whole result as JSON.
Usage: tools/bench_gpu.py --dlx build/gpu/tools/dlx/dlx --data DIR [--repeats 3] [--out FILE]
       [--cudnn-benchmark]
"""
import argparse
import gzip
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from bench_d2l import alexnet  # noqa: E402  (the same layers as models/alexnet.yaml)

EXPERIMENT = ROOT / "experiments" / "alexnet-fashion-mnist.yaml"
BATCH, LR, RESIZE, EPOCHS = 128, 0.01, 224, 2


def read_idx(path):
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def eager_side(data, cudnn_benchmark):
    torch.backends.cudnn.benchmark = cudnn_benchmark
    dev = torch.device("cuda")
    images = read_idx(f"{data}/train-images-idx3-ubyte.gz").unsqueeze(1).to(dev)
    labels = read_idx(f"{data}/train-labels-idx1-ubyte.gz").long().to(dev)
    torch.manual_seed(0)
    model = alexnet(RESIZE)
    for m in model:
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(m.weight)
    model = model.to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    n, rates = images.shape[0], []
    for _ in range(EPOCHS):
        order = torch.randperm(n, device=dev)
        model.train()
        torch.cuda.synchronize()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for i in range(0, n, BATCH):
            idx = order[i:i + BATCH]
            x = images.index_select(0, idx).float().div_(255)
            x = F.interpolate(x, size=(RESIZE, RESIZE), mode="bilinear", align_corners=False)
            x = x.contiguous(memory_format=torch.channels_last)
            y = labels.index_select(0, idx)
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * idx.numel()
            correct += (out.argmax(1) == y).sum()
        torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - start))
    print(json.dumps({"train_images_per_sec": rates[-1],
                      "train_acc": correct.item() / n, "train_loss": loss_sum.item() / n}))


def run_eager(data, cudnn_benchmark):
    cmd = [sys.executable, __file__, "--eager", "--data", data]
    out = subprocess.run(cmd + (["--cudnn-benchmark"] if cudnn_benchmark else []),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_dlx(dlx, folder, cudnn_benchmark):
    subprocess.run([dlx, "run", str(EXPERIMENT), "--folder", folder, "--set",
                    f"train.epochs={EPOCHS}", "--set",
                    f"train.cudnn_benchmark={str(cudnn_benchmark).lower()}"],
                   check=True, capture_output=True)
    report = json.loads((pathlib.Path(folder) / "report.json").read_text())
    last = report["epochs"][-1]
    return {"train_images_per_sec": last["examples_per_sec"], "train_acc": last["train_acc"],
            "train_loss": last["train_loss"], "macs_per_example": report["model"]["macs_per_example"],
            "device_name": report["environment"]["device_name"]}


def matmul_tflops(tf32, n=8192, reps=20):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a, b = (torch.randn(n, n, device="cuda") for _ in range(2))
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    torch.backends.cuda.matmul.allow_tf32 = False
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e12


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dlx")
    p.add_argument("--data", required=True, help="folder with Fashion-MNIST's IDX files")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out")
    p.add_argument("--cudnn-benchmark", action="store_true",
                   help="both sides let cuDNN time its algorithms (train.cudnn_benchmark)")
    p.add_argument("--eager", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.eager:
        return eager_side(args.data, args.cudnn_benchmark)
    dlx_runs, eager_runs = [], []
    with tempfile.TemporaryDirectory() as work:
        for r in range(args.repeats):  # ABBA: neither side always goes first
            sides = ["dlx", "eager"] if r % 2 == 0 else ["eager", "dlx"]
            for side in sides:
                if side == "dlx":
                    dlx_runs.append(run_dlx(args.dlx, f"{work}/dlx-{r}", args.cudnn_benchmark))
                else:
                    eager_runs.append(run_eager(args.data, args.cudnn_benchmark))
                print(side, json.dumps((dlx_runs if side == "dlx" else eager_runs)[-1]), flush=True)
    dlx_rate = statistics.median(r["train_images_per_sec"] for r in dlx_runs)
    eager_rate = statistics.median(r["train_images_per_sec"] for r in eager_runs)
    tf32, fp32 = matmul_tflops(True), matmul_tflops(False)
    achieved = dlx_rate * 6.0 * dlx_runs[0]["macs_per_example"] / 1e12  # fwd + 2x bwd, 2 FLOP/MAC
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
              "cudnn_benchmark": args.cudnn_benchmark,
              "dlx_train_images_per_sec": dlx_rate, "eager_train_images_per_sec": eager_rate,
              "ratio": dlx_rate / eager_rate, "matmul_tf32_tflops": tf32,
              "matmul_fp32_tflops": fp32, "dlx_train_tflops": achieved,
              "fraction_of_tf32_matmul": achieved / tf32, "dlx_runs": dlx_runs,
              "eager_runs": eager_runs}
    print(f"{result['gpu']}: dlx {dlx_rate:.0f} vs eager {eager_rate:.0f} train images/s "
          f"({result['ratio']:.2f}x, medians of {args.repeats}, second epochs, cudnn_benchmark "
          f"{args.cudnn_benchmark}); matmul "
          f"{tf32:.0f} TFLOP/s TF32, {fp32:.0f} FP32; dlx {achieved:.1f} TFLOP/s = "
          f"{100 * achieved / tf32:.0f}% of TF32")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
