"""The PyTorch peer for the classifier and saliency benchmarks (Debian python3-torch, one thread).

Same network as PhaseLens: five blocks of 3x3 convolution (16-32-64-128-128), batch norm, ReLU,
2x2 max pooling, global average pooling, a dense layer to 4 classes; 128x128x3 input.
Prints one JSON object: inference ms per slice, training step ms (16 slices, Adam), saliency ms
per slice (input gradient of one class score, batch of 16, no weight gradients).
"""
import json
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(1)


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]


layers = []
for cin, cout in [(3, 16), (16, 32), (32, 64), (64, 128), (128, 128)]:
    layers += block(cin, cout)
net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 4))
params = sum(p.numel() for p in net.parameters())


def median_ms(fn, repeats):
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    return runs[len(runs) // 2]


x = torch.rand(16, 3, 128, 128)
y = torch.randint(0, 4, (16,))
net.eval()
with torch.no_grad():
    for _ in range(3):
        net(x)
    infer = median_ms(lambda: net(x), 7) / 16


def saliency():
    # The input gradient alone, as PhaseLens computes it (backward() would also make every
    # weight's gradient: about 15% more work).
    xi = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(net(xi)[:, 1].sum(), xi)
    return g.abs().amax(1)


for _ in range(2):
    saliency()
sal = median_ms(saliency, 7) / 16

net.train()
opt = torch.optim.Adam(net.parameters(), 1e-3)
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad()
    loss_fn(net(x), y).backward()
    opt.step()


for _ in range(3):
    step()
train = median_ms(step, 7)
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "parameters": params,
    "inferenceMsPerSlice": infer,
    "trainingStepMs16": train,
    "saliencyMsPerSlice": sal,
}))
