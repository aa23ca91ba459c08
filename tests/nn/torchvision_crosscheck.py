"""Checks models/torchvision/ files against torchvision 0.14 (Debian's python3-torchvision). Run by
tests/nn/torchvision_test.cpp:

    torchvision_crosscheck.py DIR NAME...
    torchvision_crosscheck.py --load NAME CHECKPOINT CLASSES SIZE

For each NAME, DIR/NAME.weights.pt is dlx's checkpoint of models/torchvision/NAME.yaml built for
the input in DIR/NAME.io.pt, which also holds dlx's evaluation-mode logits for that input.
torchvision builds NAME for the same classes and image size and loads the weights by name with
strict=True; its logits must agree to float tolerance, with the same labels. Prints one line per
model, `NAME: N parameters (M at torchvision's defaults); ...`, and exits 0 when all agree.
Then the other way: every weight and statistic of torchvision's model is moved, and its
state_dict (torch.save) and its logits for the same input go to DIR/NAME.tv.pt and
DIR/NAME.tv-output.f32 (little-endian float32), for dlx to load by name and compare.
With --load, a dlx run's checkpoint of NAME (for CLASSES classes and SIZE x SIZE images) must load
into torchvision's model with strict=True.
"""
import collections
import sys

import torch
import torchvision


def skip_init():
    """torchvision's initialisation does nothing here: every weight is loaded afterwards, strictly,
    and drawing hundreds of millions of random numbers took most of the largest models' time."""
    def nothing(tensor, *args, **kwargs):
        return tensor
    for name in ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                 "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"):
        setattr(torch.nn.init, name, nothing)


def build(name, classes=1000, image_size=None):
    kwargs = {"num_classes": classes}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    if name.startswith("vit_") and image_size is not None:
        kwargs["image_size"] = image_size
    if name.startswith("maxvit_") and image_size is not None:
        kwargs["input_size"] = (image_size, image_size)
    return torchvision.models.get_model(name, **kwargs)


def count(net):
    return sum(p.numel() for p in net.parameters())


def check(folder, name):
    weights = torch.load(f"{folder}/{name}.weights.pt")
    io = torch.load(f"{folder}/{name}.io.pt")
    x, expected = io["input"], io["output"]
    net = build(name, expected.shape[1], x.shape[-1])
    # At 1000 classes only a ViT's count depends on the image size (its position embedding):
    # the others need not be built again at torchvision's defaults.
    default_count = count(net)
    if name.startswith("vit_") or expected.shape[1] != 1000:
        default_count = count(build(name))
    if name.startswith("mnasnet"):
        # torchvision's MNASNet reads its format version from the state_dict's metadata, which
        # torch.save keeps and a plain name -> tensor dictionary has not (dlx writes version 2's
        # layout, torchvision 0.14's).
        weights = collections.OrderedDict(weights)
        weights._metadata = {"": {"version": 2}}
    # Buffers torchvision computes rather than learns (Swin's position index and coordinates) are
    # overwritten by the strict load: compare them first.
    for key, own in net.state_dict().items():
        if key.endswith(("relative_position_index", "relative_coords_table")) and not (
                key in weights and weights[key].dtype == own.dtype and torch.equal(weights[key], own)):
            print(f"{name}: {count(net)} parameters; dlx's buffer {key} is not torchvision's")
            return False
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        first = " ".join(str(e).split())[:600]
        print(f"{name}: {count(net)} parameters ({default_count} at torchvision's defaults); "
              f"strict load failed: {first}")
        return False
    net.eval()
    with torch.no_grad():
        got = net(x)
    error = ((got - expected).abs().max() / expected.abs().max()).item()
    agree = bool((got.argmax(1) == expected.argmax(1)).all())
    ok = error < 1e-4 and agree
    print(f"{name}: {count(net)} parameters ({default_count} at torchvision's defaults); "
          f"{len(weights)} tensors loaded strictly; largest difference {error:.2e} of the largest "
          f"logit; labels {'agree' if agree else 'differ'}")
    save_moved(net, x, f"{folder}/{name}")
    return ok


def save_moved(net, x, stem):
    """torchvision's weights, each number scaled by a factor in [0.8, 1.2] (variances stay
    positive; computed position indices and coordinates stay), and their logits for `x`."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for key, t in net.state_dict().items():
            if t.is_floating_point() and not key.endswith("relative_coords_table"):
                t.mul_(torch.rand(t.shape, generator=generator) * 0.4 + 0.8)
        torch.save(net.state_dict(), f"{stem}.tv.pt")
        net(x).numpy().astype("<f4").tofile(f"{stem}.tv-output.f32")


def load_run(name, checkpoint, classes, size):
    net = build(name, int(classes), int(size))
    weights = torch.load(checkpoint)
    net.load_state_dict(weights, strict=True)
    print(f"{name}: the run's checkpoint loads strictly ({len(weights)} tensors)")
    return 0


def main(folder, *names):
    skip_init()
    if folder == "--load":
        return load_run(*names)
    torch.set_num_threads(1)
    results = [check(folder, name) for name in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
