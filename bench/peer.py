"""The PyTorch peer for the classifier and saliency benchmarks (Debian python3-torch, one thread).

Same network as PhaseLens: five blocks of 3x3 convolution (16-32-64-128-128), batch norm, ReLU,
2x2 max pooling, global average pooling, a dense layer to 4 classes; 128x128x3 input.

    python3 peer.py [NETWORK_DIR]

With NETWORK_DIR (written by bench/peers.ts: network.json, weights.bin, input.bin, logits.json)
the peer runs the PhaseLens network's own weights, reports how far its class scores are from
PhaseLens's on the same slices, and exports the network as ONNX
(NETWORK_DIR/network.onnx, batch dimension free) for the ONNX Runtime peer.

Each measure is taken as PyTorch runs out of the box (NCHW, eager) and tuned the way a PyTorch
user would tune it (channels_last memory format; for inference also batch norm folded by
torch.jit.optimize_for_inference); the strongest is what PhaseLens is compared with. Run it with
glibc's mmap and trim thresholds raised (bench/peers.ts does), or large activation buffers go back
to the OS and fault in again on every call.
Prints one JSON object: ms per slice at batch 16 (inference, saliency) and per training step of
16 slices (Adam), each variant and the best.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(1)

FILTERS = [(3, 16), (16, 32), (32, 64), (64, 128), (128, 128)]


def build(eps=1e-3):
    layers = []
    for cin, cout in FILTERS:
        layers += [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout, eps=eps),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 4))


def load(net, directory):
    """PhaseLens's weights (Keras layout: HWIO kernels, gamma/beta/mean/variance) into net."""
    spec = json.load(open(os.path.join(directory, "network.json")))
    raw = np.fromfile(os.path.join(directory, "weights.bin"), dtype="<f4")
    tensors = {}
    for w in spec["weights"]:
        n = int(np.prod(w["shape"]))
        tensors[w["name"]] = torch.from_numpy(raw[w["offset"] : w["offset"] + n].reshape(w["shape"]).copy())
    convs = [m for m in net if isinstance(m, nn.Conv2d)]
    norms = [m for m in net if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for i, (conv, norm) in enumerate(zip(convs, norms)):
            conv.weight.copy_(tensors[f"conv{i + 1}/kernel"].permute(3, 2, 0, 1))
            norm.weight.copy_(tensors[f"bn{i + 1}/gamma"])
            norm.bias.copy_(tensors[f"bn{i + 1}/beta"])
            norm.running_mean.copy_(tensors[f"bn{i + 1}/moving_mean"])
            norm.running_var.copy_(tensors[f"bn{i + 1}/moving_variance"])
        dense = net[-1]
        dense.weight.copy_(tensors["logits/kernel"].t())
        dense.bias.copy_(tensors["logits/bias"])
    return spec


def median_ms(fn, repeats):
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    return runs[len(runs) // 2]


def timed(fn, warm, repeats):
    for _ in range(warm):
        fn()
    return median_ms(fn, repeats)


directory = sys.argv[1] if len(sys.argv) > 1 else None
spec = json.load(open(os.path.join(directory, "network.json"))) if directory else {"epsilon": 1e-3}
net = build(spec["epsilon"])
report = {"torch": torch.__version__, "threads": torch.get_num_threads()}
report["parameters"] = sum(p.numel() for p in net.parameters())
if directory:
    load(net, directory)
    nhwc = np.fromfile(os.path.join(directory, "input.bin"), dtype="<f4").reshape(-1, 128, 128, 3)
    x = torch.from_numpy(nhwc.copy()).permute(0, 3, 1, 2).contiguous()
else:
    x = torch.rand(16, 3, 128, 128)
y = torch.randint(0, 4, (16,))
xl = x.contiguous(memory_format=torch.channels_last)

net.eval()
if directory:
    expected = np.array(json.load(open(os.path.join(directory, "logits.json"))))
    with torch.no_grad():
        mine = net(x).numpy()
    # PhaseLens's NaN logits arrive as null (None); a NaN difference is reported as a string.
    expected = np.array([[np.nan if v is None else v for v in row] for row in expected.tolist()], dtype=float)
    worst = float(np.abs(mine - expected).max())
    report["logitsMaxAbsDifferenceToPhaseLens"] = worst if np.isfinite(worst) else str(worst)
    report["logitsMaxAbs"] = float(np.abs(expected).max())
    torch.onnx.export(
        net,
        x[:1],
        os.path.join(directory, "network.onnx"),
        input_names=["slice"],
        output_names=["logits"],
        dynamic_axes={"slice": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
    )

with torch.no_grad():
    inference = {"nchw": timed(lambda: net(x), 3, 7) / 16}
    net_cl = net.to(memory_format=torch.channels_last)
    inference["channelsLast"] = timed(lambda: net_cl(xl), 3, 7) / 16
    frozen = torch.jit.optimize_for_inference(torch.jit.script(net_cl))
    inference["channelsLastFolded"] = timed(lambda: frozen(xl), 3, 7) / 16
    net = net.to(memory_format=torch.contiguous_format)


def saliency_of(model, inp):
    # The input gradient alone, as PhaseLens computes it (backward() would also make every
    # weight's gradient: about 15% more work).
    def run():
        xi = inp.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model(xi)[:, 1].sum(), xi)
        return g.abs().amax(1)

    return run


saliency = {"nchw": timed(saliency_of(net, x), 2, 7) / 16}
net_cl = net.to(memory_format=torch.channels_last)
saliency["channelsLast"] = timed(saliency_of(net_cl, xl), 2, 7) / 16
net = net.to(memory_format=torch.contiguous_format)


def step_of(model, inp):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def run():
        opt.zero_grad()
        loss_fn(model(inp), y).backward()
        opt.step()

    return run


net.train()
training = {"nchw": timed(step_of(net, x), 3, 7)}
net_cl = build(spec["epsilon"]).to(memory_format=torch.channels_last).train()
training["channelsLast"] = timed(step_of(net_cl, xl), 3, 7)

report.update(
    {
        "glibcTunables": os.environ.get("GLIBC_TUNABLES", ""),
        "inference": inference,
        "saliency": saliency,
        "trainingStep16": training,
        # The strongest variant of each: what PhaseLens is compared with.
        "inferenceMsPerSlice": min(inference.values()),
        "saliencyMsPerSlice": min(saliency.values()),
        "trainingStepMs16": min(training.values()),
    }
)
print(json.dumps(report))
