#!/usr/bin/python3
"""The benchmarks' realistic mix of value shapes, the same samples for every store compared.

SERIES series, HOURS hours at 15 s from START (ms, default the start of a 4-hour UTC window),
scrape timestamps with millisecond jitter; the series cycle through five shapes: constants,
integer counters, float counters, integer gauges, 2-decimal gauges. Written to WORK:

  samples.om    OpenMetrics text, series by series (promtool, VictoriaMetrics' import, WeekBench)
  rows.tsv      series number, ms, value (unless --no-rows)
  gorilla.txt   the bits of Prometheus' chunk encoding of each series and hour, computed, and the
                number of such chunks (unless --no-gorilla)

Usage: value-mix.py SERIES HOURS WORK [--start MS] [--no-rows] [--no-gorilla]
The same arguments give the same samples (the generator is seeded).
"""
import argparse
import random
import struct

parser = argparse.ArgumentParser()
parser.add_argument("series", type=int)
parser.add_argument("hours", type=int)
parser.add_argument("work")
parser.add_argument("--start", type=int, default=1_796_011_200_000)
parser.add_argument("--no-rows", action="store_true")
parser.add_argument("--no-gorilla", action="store_true")
args = parser.parse_args()
series, hours, work, start = args.series, args.hours, args.work, args.start
rng = random.Random(42)
n = hours * 240
shapes = ["constant", "int_counter", "float_counter", "int_gauge", "decimal_gauge"]
rows = None if args.no_rows else open(f"{work}/rows.tsv", "w")
om = open(f"{work}/samples.om", "w")
gorilla_bits = 0
windows = 0


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def gorilla(times, values):
    # Prometheus' XOR chunk: 64-bit first time, varint first delta, then delta-of-delta buckets;
    # first value 64 bits, then XOR with the previous: 0 -> 1 bit, else a control bit pair, the
    # leading-zero count and length when the window changes, and the meaningful bits
    b = 64 + 64 + 14
    lead, trail = 65, 0
    prev_delta = times[1] - times[0] if len(times) > 1 else 0
    for i in range(1, len(times)):
        if i >= 2:
            dod = (times[i] - times[i - 1]) - prev_delta
            prev_delta = times[i] - times[i - 1]
            b += 1 if dod == 0 else 16 if -8191 <= dod <= 8192 else 20 if -65535 <= dod <= 65536 else 24 if -524287 <= dod <= 524288 else 68
        x = bits(values[i]) ^ bits(values[i - 1])
        if x == 0:
            b += 1
            continue
        l = 64 - x.bit_length()
        t = (x & -x).bit_length() - 1
        l = min(l, 31)
        if lead != 65 and l >= lead and t >= trail:
            b += 2 + (64 - lead - trail)
        else:
            lead, trail = l, t
            b += 2 + 5 + 6 + (64 - l - t)
    return b


for s in range(series):
    shape = shapes[s % len(shapes)]
    name = f"bench_{shape}_{s % 97}"
    labels = f'instance="host-{s // 5 % 400}",job="node",n="{s}"'
    offset = rng.randrange(15000)
    v = rng.choice([0.0, 1.0, 2.0, 8.0, 4096.0]) if shape == "constant" else rng.uniform(0, 1000)
    if shape in ("int_counter", "int_gauge"):
        v = float(int(v))
    if shape == "decimal_gauge":
        v = round(v, 2)
    times, values = [], []
    for i in range(n):
        t = start + offset + i * 15000 + rng.randrange(-3, 4)  # scrape jitter of a few ms
        if shape == "int_counter":
            v += float(rng.choice([0, 0, 1, 2, 3, 5, 8, 13, 40]))
        elif shape == "float_counter":
            v += rng.expovariate(1 / 0.37)
        elif shape == "int_gauge":
            v = max(0.0, v + float(rng.choice([-2, -1, 0, 0, 0, 1, 2])))
        elif shape == "decimal_gauge":
            v = round(max(0.0, v + rng.uniform(-3, 3)), 2)
        times.append(t)
        values.append(v)
    if rows:
        rows.write("".join(f"{s}\t{t}\t{val!r}\n" for t, val in zip(times, values)))
    if not args.no_gorilla:
        for h in range(hours):
            ts, vs = times[h * 240:(h + 1) * 240], values[h * 240:(h + 1) * 240]
            gorilla_bits += gorilla(ts, vs)
            windows += 1
    om.write("".join(f"{name}{{{labels}}} {val!r} {t / 1000:.3f}\n" for t, val in zip(times, values)))
om.write("# EOF\n")
if not args.no_gorilla:
    open(f"{work}/gorilla.txt", "w").write(f"{gorilla_bits} {windows}\n")
