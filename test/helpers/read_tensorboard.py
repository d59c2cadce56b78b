"""Reads a TensorBoard event file with TensorBoard's own record reader and protos, for test/tensorboard.test.ts.

usage: python read_tensorboard.py EVENT_FILE
Prints one JSON object: file_version, scalars {tag: [[step, value], ...]}, histograms {tag: [[step, num, min, max,
sum of bucket counts], ...]}, or {"error": message} when the reader refuses the file (e.g. a CRC mismatch).
"""
import json
import sys

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New

reader = PyRecordReader_New(sys.argv[1])
result = {"file_version": None, "scalars": {}, "histograms": {}, "events": 0}
try:
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            break
        event = Event.FromString(reader.record())
        result["events"] += 1
        if event.file_version:
            result["file_version"] = event.file_version
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                result["scalars"].setdefault(value.tag, []).append([event.step, value.simple_value])
            elif kind == "histo":
                h = value.histo
                result["histograms"].setdefault(value.tag, []).append([event.step, h.num, h.min, h.max, sum(h.bucket)])
except errors.DataLossError as error:
    result = {"error": str(error)}
print(json.dumps(result))
