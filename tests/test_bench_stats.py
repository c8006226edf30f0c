"""The benchmark's statistics: a goal is MET or MISSED only when its interval says so."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench


def test_the_median_interval_uses_order_statistics_with_their_real_coverage():
    values = np.arange(1, 16, dtype=float)[::-1]  # 15 rounds, any order
    median, low, high, coverage = bench.median_interval(values)
    assert (median, low, high) == (8.0, 4.0, 12.0)  # ranks 4 and 12 of 15
    assert abs(coverage - 0.9648) < 1e-3
    _, low, high, coverage = bench.median_interval([3.0, 1.0, 2.0])
    assert (low, high) == (1.0, 3.0) and abs(coverage - 0.75) < 1e-9  # three rounds cannot give 95%


def test_verdicts_need_the_whole_interval_on_one_side_of_the_goal():
    rng = np.random.default_rng(0)
    floor = 100 + rng.normal(0, 20, size=15)  # a noisy machine: the load moves every model alike
    assert bench.verdict(bench.paired_ratio(floor * 1.05, floor), 1.10) == "MET"
    assert bench.verdict(bench.paired_ratio(floor * 1.20, floor), 1.10) == "MISSED"
    straddling = floor * np.where(np.arange(15) % 2, 1.02, 1.18)
    assert bench.verdict(bench.paired_ratio(straddling, floor), 1.10) == "UNDECIDED"
    assert bench.verdict(bench.paired_ratio(floor[:3] * 1.5, floor[:3]), 1.10) == "UNDECIDED"  # too few rounds
    # Unpaired (the peer's own rounds): the same noise, not shared, gives a wide interval.
    other = 100 + rng.normal(0, 20, size=15)
    assert bench.verdict(bench.unpaired_ratio(other * 1.05, floor), 1.10) == "UNDECIDED"


def test_the_summary_pairs_rounds_and_keeps_the_columns_scripts_read():
    rows = [
        {"model": "m", "name": name, "backend": "tensorflow", "phase": "train", "round": i, "ms": ms * (1 + i % 3)}
        for name, ms in (("floor-pooling", 10.0), ("ours-luong", 11.0))
        for i in range(9)
    ]
    table = bench.summarize(pd.DataFrame(rows))
    assert list(table.columns[:5]) == ["model", "name", "backend", "phase", "ms_median"]
    ours = table[table.name == "ours-luong"].iloc[0]
    assert ours.rounds == 9 and ours.paired
    assert np.isclose(ours.ratio_to_floor, 1.1) and np.isclose(ours.ratio_low, 1.1) and np.isclose(ours.ratio_high, 1.1)
