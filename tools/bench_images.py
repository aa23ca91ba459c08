#!/usr/bin/python3
"""The torchvision side of tools/bench's image-folder cases: ImageFolder over the same files that
dlx reads, a DataLoader with d2l's 4 workers, and the same trivial network (global average pool,
dense) trained for a few epochs, so that the epochs' time is the data path's. Prints one JSON line."""
import argparse
import json
import time

import torch
from torch import nn
from torchvision import datasets, transforms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="the folder holding train/")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--side", type=int, required=True)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--workers", type=int, default=4)
    args = p.parse_args()
    steps = [transforms.Grayscale()] if args.channels == 1 else []
    data = datasets.ImageFolder(f"{args.root}/train",
                                transforms.Compose(steps + [transforms.ToTensor()]))
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers)
    net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(args.channels, len(data.classes)))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        for x, y in loader:
            optimizer.zero_grad()
            loss(net(x), y).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"images": len(data), "epoch_seconds": seconds,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
