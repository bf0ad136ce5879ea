#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tymbal parsing from Python: agentcore.FrameParser (16 KiB chunks of the file's bytes, every
line a Frame; small chunks keep the frames alive at once few, so their memory stays in cache as
json.loads's one dict per line does) against the standard library's json.loads per line (the
bytes split on lines; the corpus has no blank lines), on
the same bytes in the same process, pass after pass. Prints one JSON line per pass and a
summary line with the medians and the ratio (issue 18's target: >= 10).

    PYTHONPATH=build/release/python /usr/bin/python3 benchmarks/python_tymbal.py \
        --file /tmp/agentcore-bench/data/timbal.ndjson --passes 5
"""

import argparse
import json
import statistics
import sys
import time

import agentcore

CHUNK = 16 << 10


def ours(data):
    parser = agentcore.FrameParser()
    view = memoryview(data)
    frames = 0
    for start in range(0, len(data), CHUNK):
        frames += len(parser.feed(view[start:start + CHUNK]))
    return frames + len(parser.finish())


def reference(data):
    frames = 0
    loads = json.loads
    for line in data.splitlines():
        loads(line)
        frames += 1
    return frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default="/tmp/agentcore-bench/data/timbal.ndjson")
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    mb = len(data) / 1e6
    ours_rates, ref_rates, ratios = [], [], []
    for n in range(args.passes):
        t0 = time.perf_counter()
        ref_frames = reference(data)
        t1 = time.perf_counter()
        our_frames = ours(data)
        t2 = time.perf_counter()
        if our_frames != ref_frames:
            print(json.dumps({"error": "frame counts differ", "ours": our_frames,
                              "jsonLoads": ref_frames}))
            return 1
        ref_rates.append(mb / (t1 - t0))
        ours_rates.append(mb / (t2 - t1))
        ratios.append(ref_rates[-1] and ours_rates[-1] / ref_rates[-1])
        print(json.dumps({"pass": n + 1, "frames": our_frames, "oursMBps": round(ours_rates[-1], 1),
                          "jsonLoadsMBps": round(ref_rates[-1], 1), "ratio": round(ratios[-1], 2)}),
              flush=True)
    print(json.dumps({"pythonTymbal": {
        "mb": round(mb, 1), "passes": args.passes,
        "oursMBps": round(statistics.median(ours_rates), 1),
        "jsonLoadsMBps": round(statistics.median(ref_rates), 1),
        "ratio": round(statistics.median(ratios), 2), "target": 10}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
