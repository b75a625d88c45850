"""Measuring helpers shared by the benchmark tools (``tools/analysis_tools/benchmark*.py``).

Steps are callables on a batch; :func:`time_steps` runs several of them interleaved and
returns their times and peak memory; :func:`in_fresh_process` runs a measurement in a
new interpreter, so that another model's allocations and the allocator's caches do not
distort its peak memory. Nothing here asserts a speed: the tools print what they measure.

Example:
    >>> import torch
    >>> from mmdla.utils.benchmark import time_steps, training_step
    >>> net = torch.nn.Conv2d(3, 4, 3)
    >>> steps = {'conv': training_step(net, net.parameters())}
    >>> result = time_steps(steps, (torch.randn(1, 3, 8, 8), ), warmup=1, repeats=2,
    ...                     device=torch.device('cpu'))
    >>> len(result['conv']['times'])
    2
"""
import importlib.util
import logging
import os
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Callable, Dict, Iterable, Iterator, Sequence, Tuple

import torch

__all__ = [
    'PeakMemory', 'output_tensors', 'mean_square', 'training_step', 'inference_step', 'time_steps',
    'median_and_iqr', 'summarise', 'build_initialised', 'in_fresh_process'
]


class PeakMemory:
    """Peak memory of the block: CUDA max allocated, or on CPU the peak growth of the
    process' resident set size above its size at entry (sampled every millisecond)."""

    def __init__(self, device: torch.device):
        self.device, self.peak = device, 0

    @staticmethod
    def _rss() -> int:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

    def _sample(self):
        while not self._stop.is_set():
            self._max = max(self._max, self._rss())
            time.sleep(0.001)

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            self._base = self._max = self._rss()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            self.peak = torch.cuda.max_memory_allocated(self.device) - self._base
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._max, self._rss()) - self._base


def output_tensors(out) -> Iterator[torch.Tensor]:
    """Every tensor of a model output: a tensor, or lists / tuples / dicts of them at any
    depth (CenterNet's ``(heatmaps, whs, offsets)``, one list per level)."""
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, dict):
        for value in out.values():
            yield from output_tensors(value)
    elif isinstance(out, (list, tuple)):
        for value in out:
            yield from output_tensors(value)


def mean_square(out) -> torch.Tensor:
    """A loss touching every output tensor: the sum of their mean squares."""
    return sum(t.float().pow(2).mean() for t in output_tensors(out))


def training_step(forward: Callable,
                  params: Iterable[torch.nn.Parameter],
                  loss: Callable = mean_square) -> Callable:
    """``step(*inputs)``: forward, ``loss(output)``, backward and an SGD (momentum 0.9)
    update of ``params`` (those that require gradients)."""
    optimizer = torch.optim.SGD([p for p in params if p.requires_grad], lr=1e-4, momentum=0.9)

    def step(*inputs):
        value = loss(forward(*inputs))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()

    return step


def inference_step(forward: Callable) -> Callable:
    """``step(*inputs)``: ``forward(*inputs)`` without autograd."""

    def step(*inputs):
        with torch.no_grad():
            return forward(*inputs)

    return step


def time_steps(steps: Dict[str, Callable], inputs: Sequence, warmup: int, repeats: int,
               device: torch.device) -> dict:
    """Run the named steps interleaved on ``inputs``: ``warmup`` rounds (at least one),
    then ``repeats`` timed rounds. Per name: ``times`` (s, one per round) and ``peak``, the
    peak memory of its warm-up (measured from the first call on, so that allocator caches
    and optimizer state are included)."""
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    peaks = {}
    for name, step in steps.items():
        with PeakMemory(device) as memory:
            for _ in range(max(warmup, 1)):
                step(*inputs)
            sync()
        peaks[name] = memory.peak
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step(*inputs)
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: dict(times=times[name], peak=peaks[name]) for name in steps}


def median_and_iqr(times: Sequence[float]) -> Tuple[float, float]:
    """The median of ``times`` and their interquartile range (0 for a single time)."""
    median = statistics.median(times)
    if len(times) < 2:
        return median, 0.0
    q1, _, q3 = statistics.quantiles(times, n=4)
    return median, q3 - q1


def summarise(name: str, result: dict, batch: int) -> str:
    """One line: median time per batch, its spread, images/s and peak memory."""
    t = sorted(result['times'])
    median, iqr = median_and_iqr(t)
    return (f'{name:<22} median {median * 1e3:9.1f} ms  (min {t[0] * 1e3:.1f}, max '
            f'{t[-1] * 1e3:.1f}, IQR {iqr * 1e3:.1f})  {batch / median:8.1f} img/s  '
            f'peak memory {result["peak"] / 2**20:8.1f} MiB')


def build_initialised(cfg) -> torch.nn.Module:
    """The config's model as built from the config (channels_last where the model says so),
    with its own weight initialisation (no checkpoint) and without the per-parameter
    initialisation report."""
    from mmengine.logging import MMLogger

    from .builders import build_model_from_config
    model = build_model_from_config(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def _call_function_of_file(path: str, name: str, args: tuple, kwargs: dict):
    spec = importlib.util.spec_from_file_location('_mmdla_measurement', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)(*args, **kwargs)


def in_fresh_process(path: str, name: str, *args, **kwargs):
    """The result of the function ``name`` of the Python file ``path`` called with
    ``args`` / ``kwargs`` in a new interpreter (multiprocessing's spawn: nothing of this
    process' memory is inherited). Arguments and result must be picklable; an exception
    in the child is raised here."""
    with ProcessPoolExecutor(1, mp_context=get_context('spawn')) as pool:
        return pool.submit(_call_function_of_file, path, name, args, kwargs).result()
