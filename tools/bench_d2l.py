#!/usr/bin/python3
"""The reference side of tools/bench: d2l's own PyTorch pipeline, as the chapter writes it.

torchvision's FashionMNIST with Resize + ToTensor transforms, a DataLoader with d2l's 4 workers,
and train_ch6's loop (SGD, cross-entropy, a host read of the accuracy per step), then d2l's
evaluate_accuracy_gpu. One epoch over the first --train examples; prints one JSON line.
The networks are tools/d2l_nets.py's, checked against models/ by a test, so both sides compute the
same. tools/bench runs it with as many intra-op threads as dlx (--threads), unless told otherwise.
"""
import argparse
import json
import time

import torch
import torchvision
from torch import nn

import d2l_nets
from torch.utils import data
from torchvision import transforms


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
    p.add_argument("--model", choices=list(d2l_nets.MODELS), required=True)
    p.add_argument("--resize", type=int, default=0)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--train", type=int, required=True)
    p.add_argument("--test", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward passes under torch.autocast('cpu', torch.bfloat16)")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads; 0 keeps PyTorch's default, as d2l does (tools/bench "
                   "passes dlx's own count, one per physical core, unless told otherwise)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    side = a.resize or 28
    net = d2l_nets.build(a.model, (1, side, side))

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)
    net.apply(init_weights)
    train_iter, test_iter = load_data_fashion_mnist(a.root, a.batch, a.resize, a.train, a.test)
    print(json.dumps(measure(net, train_iter, test_iter, a.lr, a.precision)))


def measure(net, train_iter, test_iter, lr, precision, memory_format=torch.contiguous_format,
            before_eval=None):
    """train_ch6's loop for one epoch, then evaluation, each timed; the fields tools/bench reads.
    Shared with tools/bench_torchvision.py; `before_eval(net)` runs after net.eval()."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")

    net.train()
    start = time.perf_counter()
    loss_sum = correct = seen = 0.0
    for X, y in train_iter:
        X = X.contiguous(memory_format=memory_format)
        optimizer.zero_grad()
        with autocast():
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
    if before_eval:
        before_eval(net)
    start = time.perf_counter()
    test_correct = test_seen = 0.0
    with torch.no_grad():
        for X, y in test_iter:
            X = X.contiguous(memory_format=memory_format)
            with autocast():
                test_correct += accuracy(net(X), y)
            test_seen += y.numel()
    eval_seconds = time.perf_counter() - start
    return {"train_examples": int(seen), "train_seconds": train_seconds,
            "eval_examples": int(test_seen), "eval_seconds": eval_seconds,
            "train_loss": loss_sum / seen, "train_acc": correct / seen,
            "test_acc": test_correct / test_seen, "threads": torch.get_num_threads()}

if __name__ == "__main__":
    main()
