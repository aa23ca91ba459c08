#!/usr/bin/python3
"""The reference side of tools/bench's tv-* cases: torchvision's own model in PyTorch eager.

torchvision.models.get_model(NAME, num_classes=10) with torchvision's initialisation, trained for
one epoch on the same image folder that dlx reads (tools/export-images: Fashion-MNIST as RGB PNGs),
through ImageFolder with Resize + ToTensor and a DataLoader with d2l's 4 workers, with d2l's
train_ch6 loop (SGD, cross-entropy, a host read of the loss and accuracy per step) and its
evaluate_accuracy_gpu; --precision bf16 runs the forward passes under
torch.autocast("cpu", torch.bfloat16), with two work-arounds for PyTorch 1.13's CPU autocast
(layer_norm_mixed_dtype, attention_off_fast_path) that do what PyTorch 2.0 does. --memory-format channels_last converts the model and each
batch to NHWC, PyTorch's advice for convolutional networks on oneDNN (tools/bench picks, per model,
the format measured faster here). Prints one JSON line with the fields of tools/bench_d2l.py's.
"""
import argparse
import json

import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torch.utils import data
from torchvision import datasets, transforms

from bench_d2l import measure  # the same train_ch6 loop and timings as the d2l side


def load_folder(root, batch_size, resize, workers):
    trans = transforms.Compose([transforms.Resize(resize), transforms.ToTensor()])
    train = datasets.ImageFolder(f"{root}/train", trans)
    test = datasets.ImageFolder(f"{root}/test", trans)
    # test/ may lack a class: label its images by the training classes, as dlx does.
    test.samples = [(path, train.class_to_idx[test.classes[t]]) for path, t in test.samples]
    test.targets = [t for _, t in test.samples]
    return (data.DataLoader(train, batch_size, shuffle=True, num_workers=workers),
            data.DataLoader(test, batch_size, shuffle=False, num_workers=workers),
            len(train.classes))


def layer_norm_mixed_dtype():
    """PyTorch 1.13's CPU layer_norm refuses a bfloat16 input with float32 weights, which is what
    autocast hands it (ConvNeXt's LayerNorm2d after a bfloat16 convolution: "expected scalar type
    BFloat16 but found Float"); mixed dtypes came with PyTorch 2.0 (pytorch#81851). As 2.0 does,
    normalise in float32 and return the input's dtype. Changes nothing where the dtypes agree."""
    plain = F.layer_norm

    def layer_norm(x, shape, weight=None, bias=None, eps=1e-5):
        if weight is not None and x.dtype != weight.dtype:
            return plain(x.float(), shape, weight.float(), None if bias is None else bias.float(),
                         eps).to(x.dtype)
        return plain(x, shape, weight, bias, eps)
    F.layer_norm = layer_norm


def attention_off_fast_path(net):
    """PyTorch 1.13's nn.MultiheadAttention takes its inference fast path
    (torch._native_multi_head_attention) under CPU autocast too, since its check reads CUDA's
    autocast flag only, and the fast path fails on bfloat16 against float32 weights (ViT's
    evaluation: "expected scalar type BFloat16 but found Float"); later PyTorch leaves the fast path
    under any autocast. Leave it here too, by keeping attention modules whose dropout is 0 in
    training mode, which then computes exactly what evaluation mode does."""
    for m in net.modules():
        if isinstance(m, nn.MultiheadAttention) and m.dropout == 0:
            m.train()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a torchvision builder name: resnet50, vit_b_16...")
    p.add_argument("--root", required=True, help="the image folder holding train/ and test/")
    p.add_argument("--resize", type=int, default=224)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward passes under torch.autocast('cpu', torch.bfloat16)")
    p.add_argument("--memory-format", choices=["contiguous", "channels_last"],
                   default="contiguous", help="the model's and the batches' memory format")
    p.add_argument("--workers", type=int, default=4, help="DataLoader workers (d2l's 4)")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads; 0 keeps PyTorch's default (tools/bench passes dlx's)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.precision == "bf16":
        layer_norm_mixed_dtype()
    train_iter, test_iter, classes = load_folder(a.root, a.batch, a.resize, a.workers)
    net = torchvision.models.get_model(a.model, num_classes=classes)
    fmt = torch.channels_last if a.memory_format == "channels_last" else torch.contiguous_format
    net = net.to(memory_format=fmt)
    result = measure(net, train_iter, test_iter, a.lr, a.precision, fmt,
                     attention_off_fast_path if a.precision == "bf16" else None)
    print(json.dumps(dict(result, memory_format=a.memory_format)))

if __name__ == "__main__":
    main()
