#!/usr/bin/python3
"""The reference side of tools/bench: d2l's own PyTorch pipeline, as the chapter writes it.

torchvision's FashionMNIST with Resize + ToTensor transforms, a DataLoader with d2l's 4 workers,
and train_ch6's loop (SGD, cross-entropy, a host read of the accuracy per step), then d2l's
evaluate_accuracy_gpu. One epoch over the first --train examples; prints one JSON line.
The networks are the ones in models/ (d2l's layers; AlexNet's first convolution unpadded as in
models/alexnet.yaml, which gives the same shapes as d2l's padding=1), so both sides compute the same.
"""
import argparse
import json
import time

import torch
import torchvision
from torch import nn
from torch.utils import data
from torchvision import transforms


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def alexnet(size):
    features = nn.Sequential(
        nn.Conv2d(1, 96, kernel_size=11, stride=4), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten())
    flat = features(torch.zeros(1, 1, size, size)).shape[1]  # 6400 at 224, as in the chapter
    return nn.Sequential(
        *features,
        nn.Linear(flat, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 10))


def load_data_fashion_mnist(root, batch_size, resize, train_n, test_n):
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)
    train = torchvision.datasets.FashionMNIST(root=root, train=True, transform=trans)
    test = torchvision.datasets.FashionMNIST(root=root, train=False, transform=trans)
    train = data.Subset(train, range(train_n))
    test = data.Subset(test, range(test_n))
    workers = 4  # d2l.get_dataloader_workers()
    return (data.DataLoader(train, batch_size, shuffle=True, num_workers=workers),
            data.DataLoader(test, batch_size, shuffle=False, num_workers=workers))


def accuracy(y_hat, y):
    cmp = y_hat.argmax(axis=1).type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["lenet", "alexnet"], required=True)
    p.add_argument("--resize", type=int, default=0)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--train", type=int, required=True)
    p.add_argument("--test", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--threads", type=int, default=0, help="0 keeps PyTorch's default, as d2l does")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = lenet() if a.model == "lenet" else alexnet(a.resize or 28)

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)
    net.apply(init_weights)
    train_iter, test_iter = load_data_fashion_mnist(a.root, a.batch, a.resize, a.train, a.test)
    optimizer = torch.optim.SGD(net.parameters(), lr=a.lr)
    loss = nn.CrossEntropyLoss()

    net.train()
    start = time.perf_counter()
    loss_sum = correct = seen = 0.0
    for X, y in train_iter:
        optimizer.zero_grad()
        y_hat = net(X)
        l = loss(y_hat, y)
        l.backward()
        optimizer.step()
        with torch.no_grad():
            loss_sum += float(l) * X.shape[0]
            correct += accuracy(y_hat, y)
            seen += X.shape[0]
    train_seconds = time.perf_counter() - start

    net.eval()
    start = time.perf_counter()
    test_correct = test_seen = 0.0
    with torch.no_grad():
        for X, y in test_iter:
            test_correct += accuracy(net(X), y)
            test_seen += y.numel()
    eval_seconds = time.perf_counter() - start
    print(json.dumps({
        "train_examples": int(seen), "train_seconds": train_seconds,
        "eval_examples": int(test_seen), "eval_seconds": eval_seconds,
        "train_loss": loss_sum / seen, "train_acc": correct / seen,
        "test_acc": test_correct / test_seen, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
