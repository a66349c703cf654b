"""Helpers for the reports of the bench/ scripts (imported with PYTHONPATH=bench)."""

import datetime
import os
import statistics


def median(xs):
    return statistics.median(xs)


def spread(xs, fmt="{:.2f}", unit=""):
    """'median M (range LO–HI over N runs)' of a list of numbers."""
    xs = list(xs)
    m = fmt.format(median(xs)) + unit
    if len(xs) == 1:
        return f"{m} (one run)"
    return f"{m} (range {fmt.format(min(xs))}–{fmt.format(max(xs))}{unit} over {len(xs)} runs)"


def host():
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    start = os.environ.get("BENCH_LOAD0")
    start = f"{start} at the start, " if start else ""
    return f"{os.cpu_count()} cores, load averages {start}{load} at the end, {datetime.date.today()}"
