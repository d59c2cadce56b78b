"""Independent PyTorch reference for `npm run bench -- --vs-pytorch`.

The paper's CIFAR nets as reslab builds them: 3x3 conv (16w) + BN + ReLU, 3 stages of n basic
blocks (16w/32w/64w filters, stride 2 at stages 2 and 3), option A shortcuts (subsample + zero
channels) or none (plain), global average pool, FC. SGD momentum 0.9, weight decay 1e-4, batch B.

Each configuration a PyTorch user would try on a CPU, measured in this process one after the
other: `eager` (NCHW, the default), `channels_last` (`model.to(memory_format=torch.channels_last)`,
oneDNN's preferred layout) and `compile` (`torch.compile`, inductor; needs a C++ compiler), and
the last two with bf16 mixed precision (`channels_last+bf16`, `compile+bf16`: the step under
`torch.autocast("cpu", torch.bfloat16)`, one more line for a PyTorch user on a CPU with bf16). Prints
one JSON object per configuration on one line: median train and inference step times over timed
steps after warm-up; a configuration that fails to run reports its error instead.

usage: python pytorch_reference.py MODEL WIDTH BATCH STEPS WARMUP THREADS [CONFIGS]
  CONFIGS: comma-separated, default eager,channels_last,compile,channels_last+bf16,compile+bf16
"""
import json
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride, residual):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.residual, self.stride, self.extra = residual, stride, cout - cin

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            shortcut = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
            if self.extra:
                shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.extra))
            out = out + shortcut
        return F.relu(out)


class CifarNet(nn.Module):
    def __init__(self, depth, residual, width):
        super().__init__()
        n = (depth - 2) // 6
        widths = [max(1, round(c * width)) for c in (16, 32, 64)]
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, cin = [], widths[0]
        for s, cout in enumerate(widths):
            for b in range(n):
                blocks.append(Block(cin, cout, 2 if s > 0 and b == 0 else 1, residual))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1))


CONFIGS = ("eager", "channels_last", "compile", "channels_last+bf16", "compile+bf16")


def steps_of(config, model_name, width, batch):
    """The training and inference step of MODEL in CONFIG on a random batch: two functions."""
    layout, _, precision = config.partition("+")
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    match = re.fullmatch(r"(resnet|plain)(\d+)", model_name)
    torch.manual_seed(0)
    net = CifarNet(int(match.group(2)), match.group(1) == "resnet", width)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    if layout in ("channels_last", "compile"):
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    forward = torch.compile(net) if layout == "compile" else net

    def train():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def infer():
        with torch.no_grad(), autocast():
            net.eval()
            forward(x).argmax(1).tolist()
            net.train()

    return train, infer


def measure(config, model_name, width, batch, steps, warmup):
    train, infer = steps_of(config, model_name, width, batch)

    def timed(fn):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        return times

    started = time.perf_counter()
    train_ms = timed(train)
    infer_ms = timed(infer)
    return {
        "config": config,
        "trainStepMs": statistics.median(train_ms), "inferStepMs": statistics.median(infer_ms),
        "trainImagesPerSecond": batch * 1000 / statistics.median(train_ms),
        "inferImagesPerSecond": batch * 1000 / statistics.median(infer_ms),
        "seconds": time.perf_counter() - started,
    }


def main():
    model_name, width, batch, steps, warmup, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    configs = (sys.argv[7] if len(sys.argv) > 7 else ",".join(CONFIGS)).split(",")
    torch.set_num_threads(threads)
    import resource
    results = []
    for config in configs:
        if config not in CONFIGS:
            results.append({"config": config, "error": f"unknown configuration; expected one of {', '.join(CONFIGS)}"})
            continue
        try:
            results.append(measure(config, model_name, width, batch, steps, warmup))
        except Exception as error:  # noqa: BLE001 -- reported, the other configurations still run
            results.append({"config": config, "error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]})
    print(json.dumps({
        "torch": torch.__version__, "threads": threads, "configs": results,
        # Peak of the whole process (all configurations): an upper bound for each.
        "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
