#!/usr/bin/python3
"""The other end of `dlx export` for a trained run: OpenCV runs the exported file on image files
and must predict what `dlx predict --files` predicted for them, with the same probabilities (dlx
prints 3 decimals). The images go in as a user would feed them: 8-bit pixels / 255.

Usage: predict_check.py MODEL.onnx PREDICT_OUTPUT IMAGE.png...
Exit 0: they agree; 77: OpenCV is not installed; 1: a disagreement."""
import json
import re
import sys

import numpy as np
import onnx

model, predicted, images = sys.argv[1], sys.argv[2], sys.argv[3:]
onnx.checker.check_model(model, full_check=True)
meta = {p.key: p.value for p in onnx.load(model).metadata_props}
names = json.loads(meta["class_names"])
try:
    import cv2
except ImportError:
    print("OpenCV (python3-opencv) is not installed")
    sys.exit(77)
dlx = {}
for line in open(predicted).read().splitlines()[1:]:
    m = re.match(r"(\S+)\s+(.+) \(([0-9.]+)\)$", line)
    dlx[m.group(1)] = (m.group(2), float(m.group(3)))
net = cv2.dnn.readNetFromONNX(model)
x = np.stack([cv2.imread(f, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0 for f in images])
net.setInput(x[:, None])
probabilities = net.forward("probabilities")
bad = 0
for f, p in zip(images, probabilities):
    label, prob = names[int(p.argmax())], float(p.max())
    want = dlx[f]
    if label != want[0] or abs(prob - want[1]) > 0.0015:
        print(f"{f}: opencv {label} ({prob:.4f}), dlx {want[0]} ({want[1]:.3f})")
        bad += 1
print(f"{len(images) - bad} of {len(images)} images: OpenCV predicts what dlx predicts")
sys.exit(1 if bad else 0)
