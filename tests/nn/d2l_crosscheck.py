"""Checks one of dlx's models/ against the same network built by PyTorch from d2l's definitions
(tools/d2l_nets.py). Run by tests/nn/d2l_crosscheck_test.cpp:

    d2l_crosscheck.py MODEL WEIGHTS IO

WEIGHTS is dlx's checkpoint format (a name -> tensor dict in PyTorch's state_dict order: each
module's parameters, then its buffers, modules in order); IO holds an input and dlx's logits for it. Checks that PyTorch's parameter count
equals dlx's, and that with WEIGHTS loaded in order (shapes must match one by one) evaluation mode
gives IO's logits to float tolerance and the same labels. Prints one line; exits 0 when all hold.
"""
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools"))
import d2l_nets  # noqa: E402


def main(model, weights_file, io_file):
    weights = torch.load(weights_file)
    io = torch.load(io_file)
    x, expected = io["input"], io["output"]
    net = d2l_nets.build(model, x.shape[1:])
    # Both in state_dict order: each module's parameters, then its buffers, modules in order.
    state = net.state_dict(keep_vars=True)
    ours = list(state.values())
    theirs = list(weights.values())
    parameter = [isinstance(t, torch.nn.Parameter) for t in ours]
    count = sum(p.numel() for p in net.parameters())
    dlx_count = sum(t.numel() for t, p in zip(theirs, parameter) if p)
    if len(ours) != len(theirs) or count != dlx_count:
        print(f"{model}: PyTorch has {count} parameters in {len(ours)} tensors, "
              f"dlx {dlx_count} in {len(theirs)}")
        return 1
    with torch.no_grad():
        for i, (mine, given) in enumerate(zip(ours, theirs)):
            if mine.shape != given.shape:
                print(f"{model}: tensor {i}: PyTorch {tuple(mine.shape)}, "
                      f"dlx {tuple(given.shape)} ({list(weights.keys())[i]})")
                return 1
            mine.copy_(given)
        got = net(x)
    error = ((got - expected).abs().max() / expected.abs().max()).item()
    agree = bool((got.argmax(1) == expected.argmax(1)).all())
    print(f"{model}: {count} parameters; largest difference {error:.2e} of the largest logit; "
          f"labels {'agree' if agree else 'differ'}")
    return 0 if error < 1e-4 and agree else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
