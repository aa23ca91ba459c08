"""Writes torchvision weights files as users bring them, for tests/train/weights_test.cpp:

    torchvision_weights.py DIR NAME SIZE

torchvision 0.14 (Debian's python3-torchvision) builds NAME with its own random initialisation,
moves batch norm's running statistics (a training-mode pass) and saves its state_dict in the ways
published weights come:
    plain.pt     torch.save(state_dict): the zip archive (PyTorch 1.6 on)
    legacy.pt    the same in the older pickle format (_use_new_zipfile_serialization=False)
    nested.pt    {'model': state_dict, 'model_ema': ..., 'epoch': 3, 'args': Namespace(...)},
                 as torchvision's reference scripts save checkpoints (an object beside the tensors)
    module.pt    {'state_dict': {'module.' + name: tensor}}, as Lightning wraps a DataParallel model
    backbone.pt  {'backbone.' + name: tensor}, a prefix the model lacks
    io.pt        {'input': x, 'output': evaluation-mode logits of x}, x of SIZE x SIZE
"""
import argparse
import collections
import sys

import torch
import torchvision


def main(folder, name, size):
    torch.manual_seed(0)
    net = torchvision.models.get_model(name)
    net.train()
    with torch.no_grad():
        net(torch.rand(4, 3, size, size))
    net.eval()
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        y = net(x)
    sd = net.state_dict()
    torch.save(sd, f"{folder}/plain.pt")
    torch.save(sd, f"{folder}/legacy.pt", _use_new_zipfile_serialization=False)
    torch.save({"model": sd, "model_ema": sd, "epoch": 3,
                "args": argparse.Namespace(lr=0.1, model=name)}, f"{folder}/nested.pt")
    torch.save({"state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items())},
               f"{folder}/module.pt")
    torch.save({"backbone." + k: v for k, v in sd.items()}, f"{folder}/backbone.pt")
    torch.save({"input": x, "output": y}, f"{folder}/io.pt")
    print(f"{name}: {len(sd)} tensors saved")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
