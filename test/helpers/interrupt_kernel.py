"""Drives a real tslab kernel through an interrupt, for test/kernel-ext.test.ts.

usage: python interrupt_kernel.py WORKDIR RUNS_DIR
Runs cell 0 (imports), cell 1 (long live training), interrupts the kernel once training is under way, then runs
cell 2 in the same kernel and prints one JSON object describing what happened.
"""
import json
import os
import sys
import time

from jupyter_client.manager import start_new_kernel

workdir, runs_dir = sys.argv[1], sys.argv[2]
run_dir = os.path.join(runs_dir, "resnet8-w0.25-s0")

CELL0 = """
import { train, whenIdle } from 'reslab-kernel';
import { readRunEvents } from 'reslab';
"""

CELL1 = """
await train('resnet8', { preset: 'demo', out: %s, view: { minIntervalMs: 100 },
  overrides: { modelOptions: { width: 0.25 }, iterations: 5000, batchSize: 16, logEvery: 5, evalEvery: 1000,
               checkpointEvery: 1000, trainLimit: 256, testLimit: 64, trainEvalImages: 32, probeEvery: 0 } });
""" % json.dumps(runs_dir)

CELL2 = """
await whenIdle();
const events = readRunEvents(%s);
const end = events[events.length - 1];
console.log(JSON.stringify({ end, trainEvents: events.filter(e => e.type === 'train').length }));
""" % json.dumps(run_dir)


def shell_reply(client, msg_id):
    while True:
        msg = client.get_shell_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


def run_cell(client, code, timeout):
    msg_id = client.execute(code)
    outputs, reply = [], None
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind in ("stream", "display_data", "update_display_data", "error"):
            outputs.append({"type": kind, "content": msg["content"]})
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            return outputs, shell_reply(client, msg_id)
    raise TimeoutError(f"cell did not finish within {timeout} s")


def wait_for_training(timeout):
    metrics = os.path.join(run_dir, "metrics.jsonl")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(metrics):
            with open(metrics) as f:
                if sum(1 for line in f if '"type":"train"' in line) >= 3:
                    return
        time.sleep(0.05)
    raise TimeoutError("training did not start")


kernel, client = start_new_kernel(kernel_name="tslab", cwd=workdir)
try:
    _, reply0 = run_cell(client, CELL0, 120)
    assert reply0["status"] == "ok", reply0
    msg_id = client.execute(CELL1)
    wait_for_training(120)
    kernel.interrupt_kernel()
    # Collect cell 1's reply.
    cell1_outputs, cell1_reply = [], None
    deadline = time.time() + 60
    while time.time() < deadline and cell1_reply is None:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            if msg["msg_type"] in ("display_data", "update_display_data", "error", "stream"):
                cell1_outputs.append(msg["msg_type"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                cell1_reply = shell_reply(client, msg_id)
    # tslab cancels requests that arrive within 200 ms of an error (as a person pressing the next
    # cell never does): wait a moment, like a person.
    time.sleep(1.0)
    outputs, reply = run_cell(client, CELL2, 120)
    stream = "".join(o["content"].get("text", "") for o in outputs if o["type"] == "stream")
    print(json.dumps({
        "cell1_status": cell1_reply and cell1_reply["status"],
        "cell1_error": cell1_reply and cell1_reply.get("evalue"),
        "cell1_outputs": cell1_outputs,
        "cell2_status": reply["status"],
        "cell2_stdout": stream,
        "kernel_alive": kernel.is_alive(),
        "checkpoint": os.path.exists(os.path.join(run_dir, "checkpoint", "state.json")),
    }))
finally:
    client.stop_channels()
    kernel.shutdown_kernel(now=True)
