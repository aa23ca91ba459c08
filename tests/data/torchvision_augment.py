#!/usr/bin/python3
"""The reference of tests/data/augment_torchvision_test.cpp: torchvision 0.14's own functions
applied to the test's images with the parameters dlx used.

Usage: torchvision_augment.py DIR. DIR/cases.json lists the cases; each reads DIR/<image>.f32
(float32, [C, H, W] in [0, 1]) and writes DIR/<name>.tv.f32 (float32, in [0, 1]). A case with
"uint8": true runs on round(x * 255) as uint8, as torchvision's autoaugment does, and its result is
divided by 255 again.
"""
import json
import os
import sys

import torch
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode
from torchvision.transforms.autoaugment import _apply_op


def apply(case, img):
    op, a = case["op"], case.get("args", {})
    if op == "auto":  # one op of autoaugment.py, as its transforms call it
        fill = a.get("fill")
        return _apply_op(img, a["name"], float(a["magnitude"]), InterpolationMode(a["interpolation"]), fill)
    if op == "rotate":  # RandomRotation: F.rotate with its fill always given
        return F.rotate(img, a["angle"], InterpolationMode(a["interpolation"]), fill=a["fill"])
    if op == "vflip":
        return F.vflip(img)
    if op == "brightness":
        return F.adjust_brightness(img, a["factor"])
    if op == "contrast":
        return F.adjust_contrast(img, a["factor"])
    if op == "saturation":
        return F.adjust_saturation(img, a["factor"])
    if op == "hue":
        return F.adjust_hue(img, a["factor"])
    if op == "erase":
        v = torch.tensor([a["value"]], dtype=img.dtype)[:, None, None]
        return F.erase(img, a["top"], a["left"], a["h"], a["w"], v)
    if op == "eval":  # the evaluation transform of torchvision's classification recipe
        if a["resize"]:
            img = F.resize(img, a["resize"], InterpolationMode.BILINEAR)
        return F.center_crop(img, a["crop"]) if a["crop"] else img
    raise ValueError("unknown op " + op)


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "cases.json")) as f:
        cases = json.load(f)
    images = {}
    for case in cases:
        name = case["image"]
        if name not in images:
            data = open(os.path.join(folder, name + ".f32"), "rb").read()
            images[name] = torch.frombuffer(bytearray(data), dtype=torch.float32).view(case["shape"])
        img = images[name].clone()
        if case.get("uint8"):
            out = apply(case, torch.round(img * 255).to(torch.uint8)).to(torch.float32) / 255
        else:
            out = apply(case, img)
        with open(os.path.join(folder, case["name"] + ".tv.f32"), "wb") as f:
            f.write(out.contiguous().numpy().tobytes())
    print(f"torchvision_augment: {len(cases)} cases")


if __name__ == "__main__":
    main()
