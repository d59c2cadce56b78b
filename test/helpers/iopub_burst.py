"""Sends a burst of outputs from one cell of a real tslab kernel, for test/kernel-ext.test.ts.

usage: python iopub_burst.py WORKDIR SETUP_CODE BURST_CODE [READER_LAG_SECONDS]
Runs SETUP_CODE, then BURST_CODE, in one kernel started in WORKDIR, and prints one JSON object: the iopub
messages of the burst cell by type, and whether its `status: idle` ever arrived. With READER_LAG_SECONDS the
reader starts that long after the burst cell was sent, as a front end under load does; without it, it reads
all the time.
"""
import json
import queue
import sys
import time

from jupyter_client.manager import start_new_kernel

workdir, setup_code, burst_code = sys.argv[1], sys.argv[2], sys.argv[3]
reader_lag = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0


def run(client, code, patience, lag=0.0):
    """Executes code; collects its iopub messages until its idle status, or until `patience` seconds of silence."""
    msg_id = client.execute(code)
    time.sleep(lag)
    types, idle, streams = {}, False, []
    while not idle:
        try:
            msg = client.get_iopub_msg(timeout=patience)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        types[kind] = types.get(kind, 0) + 1
        if kind == "stream":
            streams.append(msg["content"]["text"])
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    return {"types": types, "idle": idle, "stdout": "".join(streams)}


manager, client = start_new_kernel(kernel_name="tslab", cwd=workdir, startup_timeout=120)
try:
    setup = run(client, setup_code, 60)
    started = time.time()
    burst = run(client, burst_code, 20, reader_lag)
    print(json.dumps({"setup": setup, "burst": burst, "seconds": round(time.time() - started, 1)}))
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
