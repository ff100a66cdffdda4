"""Latency distributions for the Monitoring emulator: one per response code class, mergeable.

A series' latencies follow a piecewise-linear quantile function through its p50, p95 and p99,
so the emulator can answer a percentile of one series (a percentile aligner), a percentile over
several merged (a percentile reducer over distributions, as Cloud Monitoring computes it), and
the bucket counts of a DISTRIBUTION value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

BUCKETS = 40  # exponential buckets: 1 ms × 1.4^i, as Cloud Run's request_latencies has
GROWTH = 1.4
SCALE_MS = 1.0


@dataclass(frozen=True)
class LatencyShape:
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def _knots(self) -> list[tuple[float, float]]:
        """(probability, ms) points the quantile function runs through, rising."""
        return [
            (0.0, self.p50_ms * 0.3),
            (0.5, self.p50_ms),
            (0.95, max(self.p95_ms, self.p50_ms)),
            (0.99, max(self.p99_ms, self.p95_ms, self.p50_ms)),
            (1.0, max(self.p99_ms, self.p95_ms, self.p50_ms) * 1.25),
        ]

    def quantile(self, p: float) -> float:
        knots = self._knots()
        for (p0, x0), (p1, x1) in itertools.pairwise(knots):
            if p <= p1:
                return x0 + (x1 - x0) * (p - p0) / (p1 - p0)
        return knots[-1][1]

    def cdf(self, ms: float) -> float:
        knots = self._knots()
        if ms <= knots[0][1]:
            return 0.0
        for (p0, x0), (p1, x1) in itertools.pairwise(knots):
            if ms <= x1:
                return p0 + (p1 - p0) * (ms - x0) / (x1 - x0) if x1 > x0 else p1
        return 1.0


def merged_percentile(parts: list[tuple[LatencyShape, int]], p: float) -> float | None:
    """The `p` quantile (0..1) over every request of every part (shape, request count)."""
    total = sum(count for _, count in parts)
    if total == 0:
        return None
    low, high = 0.0, max(shape.quantile(1.0) for shape, _ in parts)
    for _ in range(60):  # bisection on the merged CDF: exact to well under a microsecond
        middle = (low + high) / 2
        if sum(count * shape.cdf(middle) for shape, count in parts) / total < p:
            low = middle
        else:
            high = middle
    return round(high, 3)  # to the microsecond


def bucket_bounds() -> list[float]:
    return [SCALE_MS * GROWTH**i for i in range(BUCKETS + 1)]


def bucket_counts(shape: LatencyShape, count: int) -> list[int]:
    """Requests per bucket: underflow, BUCKETS finite ones, overflow (Distribution's layout)."""
    bounds = bucket_bounds()
    edges = [0.0, *(shape.cdf(b) for b in bounds), 1.0]
    counts = [round(count * (b - a)) for a, b in itertools.pairwise(edges)]
    counts[-1] += count - sum(counts)  # rounding lands in the overflow bucket
    return counts
