#!/usr/bin/python3
"""Checks an ONNX file that dlx wrote with clients no one here wrote: ONNX's checker (full, with
strict shape inference) and OpenCV's DNN module, whose logits for the given input must be dlx's
to 1e-4 of their scale, with the same predicted labels.

Usage: onnx_check.py MODEL.onnx INPUT.bin N C H W LOGITS.bin
Exit 0: both agree; 77: the checker passed but OpenCV is not installed; 1: a disagreement."""
import sys

import numpy as np
import onnx

model, inputs, n, c, h, w, logits = sys.argv[1:8]
onnx.checker.check_model(model, full_check=True)
x = np.fromfile(inputs, dtype=np.float32).reshape(int(n), int(c), int(h), int(w))
want = np.fromfile(logits, dtype=np.float32).reshape(int(n), -1)
try:
    import cv2
except ImportError:
    print("ONNX's checker accepts it; OpenCV (python3-opencv) is not installed")
    sys.exit(77)
net = cv2.dnn.readNetFromONNX(model)
net.setInput(x)
got = net.forward("logits").reshape(want.shape)
scale = np.abs(want).max(axis=1, keepdims=True)
error = float((np.abs(got - want) / scale).max())
same = bool((got.argmax(axis=1) == want.argmax(axis=1)).all())
print(f"opencv {cv2.__version__}: largest difference {error:.2e} of the logits' scale; "
      f"labels {'the same' if same else 'differ'}")
sys.exit(0 if error <= 1e-4 and same else 1)
