#!/usr/bin/env python3
"""GPU benchmark: dlx against PyTorch eager, same GPU, network, data and hyperparameters.

The eager side is written as a PyTorch user would write it for speed, not as d2l does (d2l's
DataLoader resizes on the CPU, image by image): Fashion-MNIST resident on the GPU as uint8, each
batch gathered, scaled to [0, 1] and resized there (bilinear, as dlx does), channels-last as in
experiments/alexnet-fashion-mnist.yaml, SGD at lr 0.01, batch 128, Xavier-uniform init.
With --precision bf16 or fp16 both sides train in mixed precision: dlx with train.precision, eager
under torch.autocast (and, for fp16, torch.cuda.amp.GradScaler), so each is held against PyTorch at
the same precision. With --compile a third side runs the eager model through torch.compile; where
torch.compile does not work on the machine, the JSON says why and the other sides still run.
Each repeat is a fresh process per side, interleaved (ABBA, the order reversed every other repeat);
each trains two epochs and the second, past cuDNN's warm-up (and compilation), is the one measured.
Prints medians, their ratios, the GPU's float32 matrix rate (with TF32, which cuDNN's convolutions
use by default, and without) and dlx's achieved training FLOP/s against the TF32 rate; writes the
whole result as JSON.
Usage: tools/bench_gpu.py --dlx build/gpu/tools/dlx/dlx --data DIR [--repeats 3] [--out FILE]
       [--cudnn-benchmark] [--precision fp32|bf16|fp16] [--compile]
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
import d2l_nets  # noqa: E402  (the same layers as models/alexnet.yaml)

EXPERIMENT = ROOT / "experiments" / "alexnet-fashion-mnist.yaml"
BATCH, LR, RESIZE, EPOCHS = 128, 0.01, 224, 2


def read_idx(path):
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def eager_side(data, cudnn_benchmark, precision, compiled):
    torch.backends.cudnn.benchmark = cudnn_benchmark
    dev = torch.device("cuda")
    images = read_idx(f"{data}/train-images-idx3-ubyte.gz").unsqueeze(1).to(dev)
    labels = read_idx(f"{data}/train-labels-idx1-ubyte.gz").long().to(dev)
    torch.manual_seed(0)
    model = d2l_nets.build("alexnet", (1, RESIZE, RESIZE))
    for m in model:
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(m.weight)
    model = model.to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    forward = torch.compile(model) if compiled else model
    amp = AUTOCAST[precision]
    scaler = torch.cuda.amp.GradScaler(enabled=precision == "fp16")
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
            with torch.autocast("cuda", dtype=amp, enabled=amp is not None):
                out = forward(x)
            loss = F.cross_entropy(out.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            loss_sum += loss.detach() * idx.numel()
            correct += (out.argmax(1) == y).sum()
        torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - start))
    print(json.dumps({"train_images_per_sec": rates[-1],
                      "train_acc": correct.item() / n, "train_loss": loss_sum.item() / n}))


def run_eager(args, compiled):
    cmd = [sys.executable, __file__, "--eager", "--data", args.data, "--precision", args.precision]
    cmd += (["--cudnn-benchmark"] if args.cudnn_benchmark else []) + (["--compile"] if compiled else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        if compiled:  # torch.compile needs Triton and a compiler; say why it is missing
            return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
        raise subprocess.CalledProcessError(done.returncode, cmd, done.stdout, done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_dlx(args, folder):
    subprocess.run([args.dlx, "run", str(EXPERIMENT), "--folder", folder, "--set",
                    f"train.epochs={EPOCHS}", "--set",
                    f"train.cudnn_benchmark={str(args.cudnn_benchmark).lower()}",
                    "--set", f"train.precision={args.precision}"],
                   check=True, capture_output=True)
    report = json.loads((pathlib.Path(folder) / "report.json").read_text())
    last = report["epochs"][-1]
    return {"train_images_per_sec": last["examples_per_sec"], "train_acc": last["train_acc"],
            "train_loss": last["train_loss"], "macs_per_example": report["model"]["macs_per_example"],
            "device_name": report["environment"]["device_name"],
            "precision": report["environment"].get("precision", "fp32"),
            "peak_gpu_allocated_mib": report["final"].get("peak_gpu_allocated_mib"),
            "skipped_steps": last.get("skipped_steps")}


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


def median_rate(runs):
    rates = [r["train_images_per_sec"] for r in runs if "error" not in r]
    return statistics.median(rates) if rates else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dlx")
    p.add_argument("--data", required=True, help="folder with Fashion-MNIST's IDX files")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out")
    p.add_argument("--cudnn-benchmark", action="store_true",
                   help="both sides let cuDNN time its algorithms (train.cudnn_benchmark)")
    p.add_argument("--precision", choices=sorted(AUTOCAST), default="fp32",
                   help="both sides: dlx's train.precision, eager's torch.autocast")
    p.add_argument("--compile", action="store_true",
                   help="a third side: the eager model through torch.compile")
    p.add_argument("--eager", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.eager:
        return eager_side(args.data, args.cudnn_benchmark, args.precision, args.compile)
    sides = ["dlx", "eager"] + (["compiled"] if args.compile else [])
    runs = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as work:
        for r in range(args.repeats):  # ABBA: no side always goes first
            for side in (sides if r % 2 == 0 else sides[::-1]):
                if side == "dlx":
                    runs[side].append(run_dlx(args, f"{work}/dlx-{r}"))
                else:
                    runs[side].append(run_eager(args, compiled=side == "compiled"))
                print(side, json.dumps(runs[side][-1]), flush=True)
    rate = {side: median_rate(runs[side]) for side in sides}
    tf32, fp32 = matmul_tflops(True), matmul_tflops(False)
    achieved = rate["dlx"] * 6.0 * runs["dlx"][0]["macs_per_example"] / 1e12  # fwd + 2x bwd
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
              "cudnn_benchmark": args.cudnn_benchmark, "precision": args.precision,
              "dlx_train_images_per_sec": rate["dlx"], "eager_train_images_per_sec": rate["eager"],
              "ratio": rate["dlx"] / rate["eager"], "matmul_tf32_tflops": tf32,
              "matmul_fp32_tflops": fp32, "dlx_train_tflops": achieved,
              "fraction_of_tf32_matmul": achieved / tf32, "dlx_runs": runs["dlx"],
              "eager_runs": runs["eager"]}
    compiled = ""
    if args.compile:
        result["compiled_runs"] = runs["compiled"]
        result["compiled_train_images_per_sec"] = rate["compiled"]
        if rate["compiled"]:
            result["ratio_to_compiled"] = rate["dlx"] / rate["compiled"]
            compiled = f", torch.compile {rate['compiled']:.0f} ({result['ratio_to_compiled']:.2f}x)"
        else:
            compiled = f", torch.compile failed: {runs['compiled'][0]['error']}"
    print(f"{result['gpu']}, {args.precision}: dlx {rate['dlx']:.0f} vs eager {rate['eager']:.0f} "
          f"train images/s ({result['ratio']:.2f}x{compiled}; medians of {args.repeats}, second "
          f"epochs, cudnn_benchmark {args.cudnn_benchmark}); matmul {tf32:.0f} TFLOP/s TF32, "
          f"{fp32:.0f} FP32; dlx {achieved:.1f} TFLOP/s = {100 * achieved / tf32:.0f}% of TF32")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
