"""Time each saliency metric on one 480x640 map (target: at most 20 ms each).

Run: ``python benchmarks/metrics.py``. The metrics are numpy code on the CPU, so no accelerator
is involved; the script prints the device and threads used, then each metric's median time over
``REPEATS`` runs (after one warm-up run) and its ratio to the 20 ms budget.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from xaikit.metrics import saliency

TARGET_MS = 20.0
HEIGHT, WIDTH = 480, 640
REPEATS = 21


def device_line() -> str:
    """The CPU, the cores this process may use, and the BLAS threads (threadpoolctl if present)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        from threadpoolctl import threadpool_info

        pools = [f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info()]
    except ImportError:
        pools = []
    blas = f"; BLAS/OpenMP threads: {', '.join(pools)}" if pools else ""
    cpu = platform.processor() or platform.machine()
    return f"device: CPU ({cpu}), {cores} usable cores{blas}; numpy {np.__version__}"


def median_ms(function, repeats: int = REPEATS) -> float:
    function()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[:HEIGHT, :WIDTH]
    saliency_map = np.exp(-((ys - 200) ** 2 + (xs - 300) ** 2) / (2 * 80.0**2))
    saliency_map += 0.1 * rng.random((HEIGHT, WIDTH))
    fixations = np.zeros((HEIGHT, WIDTH))
    fixations[rng.integers(0, HEIGHT, 60), rng.integers(0, WIDTH, 60)] = 1
    others = np.zeros((HEIGHT, WIDTH))
    others[rng.integers(0, HEIGHT, 300), rng.integers(0, WIDTH, 300)] = 1
    density = np.exp(-((ys - 220) ** 2 + (xs - 280) ** 2) / (2 * 60.0**2))
    human = density / density.max()

    cases = {
        "auc_judd": lambda: saliency.auc_judd(saliency_map, fixations),
        "auc_borji": lambda: saliency.auc_borji(saliency_map, fixations),
        "auc_shuffled (mit)": lambda: saliency.auc_shuffled(saliency_map, fixations, others),
        "auc_shuffled (pysaliency)": lambda: saliency.auc_shuffled(
            saliency_map, fixations, others, convention="pysaliency"
        ),
        "nss": lambda: saliency.nss(saliency_map, fixations),
        "cc": lambda: saliency.cc(saliency_map, density),
        "sim": lambda: saliency.sim(saliency_map, density),
        "kld": lambda: saliency.kld(saliency_map, density),
        "info_gain": lambda: saliency.info_gain(saliency_map, fixations),
        "emd": lambda: saliency.emd(saliency_map, density),
        "mae": lambda: saliency.mae(saliency_map, human),
    }
    print(f"saliency metrics on one {HEIGHT}x{WIDTH} map, budget {TARGET_MS:.0f} ms each")
    print(device_line())
    print(f"median of {REPEATS} runs after one warm-up")
    print(f"{'metric':<28}{'median ms':>10}{'/ budget':>10}")
    for name, function in cases.items():
        elapsed = median_ms(function)
        flag = "" if elapsed <= TARGET_MS else "  over budget"
        print(f"{name:<28}{elapsed:>10.2f}{elapsed / TARGET_MS:>10.2f}{flag}")


if __name__ == "__main__":
    main()
