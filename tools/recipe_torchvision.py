#!/usr/bin/python3
"""The recipe measurement's PyTorch side: experiments/small-resnet-recipe.yaml (or -plain.yaml
with --plain) in PyTorch + torchvision 0.14, as torchvision's reference scripts train it: the same
small ResNet (models/small-resnet.yaml), the first 10,000 Fashion-MNIST training images and the
whole test set, normalised by the training slice's mean and std; TrivialAugmentWide and
RandomErasing(0.1) per image (transforms on uint8 tensors, as the reference's tensor path), mixup
0.2 / cutmix 1.0 per batch (one chosen at random, as the reference's RandomChoice), label smoothing
0.1, SGD with no weight decay on norm layers, a per-step linear warm-up from 1% over the first
epoch then cosine, and the reference's ExponentialMovingAverage (decay adjusted, updated every 4
steps, restarted during warm-up). Batches are made in the main process (num_workers 0) and
PyTorch runs as many threads as dlx (one per core), so both sides share the 2 cores alike.
Prints one JSON line: test accuracy of the live weights and of the EMA after the last epoch, and
training images/s (evaluation excluded).
    tools/recipe_torchvision.py --seed 0
    tools/recipe_torchvision.py --seed 0 --plain
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import transforms

DATA = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape).copy())


class Residual(nn.Module):
    """d2l's Residual: two 3x3 convolutions with batch norm; a 1x1 projection when it halves."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = nn.Conv2d(cin, cout, 1, stride) if stride != 1 else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


def small_resnet():
    return nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         Residual(16, 16, 1), Residual(16, 32, 2), Residual(32, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def mix(images, labels, generator):
    """torchvision's reference RandomMixup(alpha 0.2) or RandomCutmix(alpha 1.0), one at random."""
    targets = F.one_hot(labels, 10).float()
    rolled_images, rolled_targets = images.roll(1, 0), targets.roll(1, 0)
    if torch.rand(1, generator=generator).item() < 0.5:
        share = float(torch.distributions.Beta(0.2, 0.2).sample())
        images = images * share + rolled_images * (1 - share)
    else:
        share = float(torch.distributions.Beta(1.0, 1.0).sample())
        h, w = images.shape[-2:]
        cy, cx = int(torch.randint(h, (1,))), int(torch.randint(w, (1,)))
        r = 0.5 * math.sqrt(1 - share)
        hh, hw = int(r * h), int(r * w)
        y1, y2, x1, x2 = max(cy - hh, 0), min(cy + hh, h), max(cx - hw, 0), min(cx + hw, w)
        images = images.clone()
        images[:, :, y1:y2, x1:x2] = rolled_images[:, :, y1:y2, x1:x2]
        share = 1 - (y2 - y1) * (x2 - x1) / (h * w)
    return images, targets * share + rolled_targets * (1 - share)


def evaluate(model, images, labels):
    model.eval()
    right = 0
    with torch.inference_mode():
        for i in range(0, len(images), 512):
            right += (model(images[i:i + 512]).argmax(1) == labels[i:i + 512]).sum().item()
    model.train()
    return right / len(images)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plain", action="store_true", help="no recipe, as small-resnet-plain")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    train_x, train_y = idx("train-images-idx3-ubyte.gz")[:10000], idx("train-labels-idx1-ubyte.gz")[:10000].long()
    test_x, test_y = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz").long()
    pixels = train_x.float() / 255
    mean, std = pixels.mean().item(), pixels.std().item()
    normalize = transforms.Normalize([mean], [std])
    test_images = normalize(test_x.unsqueeze(1).float() / 255)
    augment = transforms.TrivialAugmentWide()
    erase = transforms.RandomErasing(p=0.1, value=0)

    model = small_resnet()
    norm = [p for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()]
    other = [p for p in model.parameters() if all(p is not q for q in norm)]
    decay = 0.0005
    optimizer = torch.optim.SGD([{"params": other, "weight_decay": decay},
                                 {"params": norm, "weight_decay": 0 if not args.plain else decay}],
                                lr=0.1, momentum=0.9)
    steps = math.ceil(10000 / 128)
    total = args.epochs * steps

    def lr_factor(step):  # plain: cosine per epoch; recipe: per step, warm-up over epoch 1
        if args.plain:
            return 0.5 * (1 + math.cos(math.pi * step / args.epochs))  # step counts epochs
        done = step / steps
        if done < 1:
            return 0.01 + 0.99 * done
        return 0.5 * (1 + math.cos(math.pi * (done - 1) / (args.epochs - 1)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.0 if args.plain else 0.1)
    ema = None
    if not args.plain:
        alpha = min(1.0, (1 - 0.999) * 128 * 4 / args.epochs)
        ema = torch.optim.swa_utils.AveragedModel(
            model, avg_fn=lambda avg, p, n: (1 - alpha) * avg + alpha * p, use_buffers=True)

    train_seconds = 0.0
    for epoch in range(args.epochs):
        order = torch.randperm(10000, generator=generator)
        start = time.perf_counter()
        for i in range(steps):
            rows = order[i * 128:(i + 1) * 128]
            batch = train_x[rows].unsqueeze(1)
            if not args.plain:
                batch = torch.stack([augment(img) for img in batch])
            batch = normalize(batch.float() / 255)
            labels = train_y[rows]
            targets = labels
            if not args.plain:
                batch = torch.stack([erase(img) for img in batch])
                batch, targets = mix(batch, labels, generator)
            loss = loss_fn(model(batch), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if not args.plain:
                schedule.step()
            if ema is not None and i % 4 == 0:
                ema.update_parameters(model)
                if epoch < 1:  # the reference restarts the average during warm-up
                    ema.n_averaged.fill_(0)
        if args.plain:
            schedule.step()
        train_seconds += time.perf_counter() - start
    result = {"seed": args.seed, "recipe": not args.plain, "epochs": args.epochs,
              "test_acc": evaluate(model, test_images, test_y),
              "train_images_per_sec": args.epochs * 10000 / train_seconds,
              "threads": torch.get_num_threads()}
    if ema is not None:
        result["ema_test_acc"] = evaluate(ema.module, test_images, test_y)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
