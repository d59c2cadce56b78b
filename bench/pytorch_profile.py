"""Where PyTorch's training step spends its time, op by op, for `node dist/bench/profile.js --vs-pytorch`.

The same net, batch and optimizer as pytorch_reference.py, in one configuration (channels_last
by default: PyTorch's fastest eager layout on a CPU). Runs WARMUP steps, times STEPS steps
without the profiler (the step time), then profiles STEPS more with torch.profiler and prints one
JSON object: the median step time, the step time under the profiler (which adds its own cost)
and, per aten op, calls and self CPU time per step (self time counts each microsecond once, in the
innermost op that spent it).

usage: python pytorch_profile.py MODEL WIDTH BATCH STEPS WARMUP THREADS [CONFIG]
"""
import json
import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from pytorch_reference import steps_of


def main():
    model_name, width, batch, steps, warmup, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    config = sys.argv[7] if len(sys.argv) > 7 else "channels_last"
    if config not in ("eager", "channels_last", "channels_last+bf16"):
        sys.exit(f"pytorch_profile.py: CONFIG must be eager, channels_last or channels_last+bf16 (a compiled graph has no per-op profile), got {config}")
    torch.set_num_threads(threads)
    train, _ = steps_of(config, model_name, width, batch)
    for _ in range(warmup):
        train()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        train()
        times.append((time.perf_counter() - start) * 1000)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            train()
        profiled_ms = (time.perf_counter() - start) * 1000 / steps
    ops = [
        {"name": e.key, "calls": e.count / steps, "selfMs": e.self_cpu_time_total / 1000 / steps}
        for e in prof.key_averages()
        if e.self_cpu_time_total > 0
    ]
    print(json.dumps({"torch": torch.__version__, "config": config, "threads": threads, "stepMs": statistics.median(times), "profiledStepMs": profiled_ms, "ops": ops}))


if __name__ == "__main__":
    main()
