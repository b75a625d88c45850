#!/usr/bin/env python
"""Inference and training-step speed and peak memory of any config's model.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W] [--batch N]
        [--warmup 3] [--repeats 10] [--mode both|infer|train] [--channels-last]

Runs on the current device (CUDA if available, else CPU) with random input; a training
step is forward + a mean-square loss on the output + backward + SGD update. Prints the
median time per batch, its spread (min-max and the interquartile range), images/s and
peak memory (CUDA: max allocated; CPU: peak resident-set growth over the run, sampled).
This is a measuring script, not a test: nothing is asserted.
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import threading
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmdla  # noqa: E402,F401
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mmdla.utils import build_model_from_config  # noqa: E402

DEFAULT_SHAPES = {'mmpretrain': (224, 224), 'mmseg': (512, 1024)}


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


def _first_tensor(out):
    while isinstance(out, (list, tuple)):
        out = out[0]
    return out


def make_step(model, mode: str):
    """A callable running one inference or training step on a batch."""
    if mode == 'infer':
        model.eval()

        def step(x):
            with torch.no_grad():
                return model(x, mode='tensor') if hasattr(model, 'data_preprocessor') \
                    else model(x)
        return step
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9)

    def step(x):
        out = model(x, mode='tensor') if hasattr(model, 'data_preprocessor') else model(x)
        loss = sum(t.float().pow(2).mean() for t in
                   (out if isinstance(out, (list, tuple)) else [out]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def time_steps(steps: dict, x, warmup: int, repeats: int, device) -> dict:
    """Run the named steps interleaved: ``warmup`` rounds, then ``repeats`` timed rounds.
    Per name: the list of times (s) and the peak memory of its first steps (measured from
    the first call on, so that allocator caches and optimizer state are included)."""
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    peaks = {}
    for name, step in steps.items():
        with PeakMemory(device) as memory:
            for _ in range(max(warmup, 1)):
                step(x)
            sync()
        peaks[name] = memory.peak
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step(x)
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: dict(times=times[name], peak=peaks[name]) for name in steps}


def summarise(name: str, result: dict, batch: int) -> str:
    t = sorted(result['times'])
    median = statistics.median(t)
    q1, q3 = (statistics.quantiles(t, n=4)[i] for i in (0, 2)) if len(t) > 1 else (t[0], t[0])
    return (f'{name:<22} median {median * 1e3:9.1f} ms  (min {t[0] * 1e3:.1f}, max '
            f'{t[-1] * 1e3:.1f}, IQR {(q3 - q1) * 1e3:.1f})  {batch / median:8.1f} img/s  '
            f'peak memory {result["peak"] / 2**20:8.1f} MiB')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a config\'s model')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--mode', choices=['both', 'infer', 'train'], default='both')
    parser.add_argument('--channels-last', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    shape = tuple(args.shape or DEFAULT_SHAPES[cfg.get('default_scope', 'mmseg')])
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    x = torch.randn(args.batch, 3, *shape, device=device).to(memory_format=memory_format)
    modes = ['infer', 'train'] if args.mode == 'both' else [args.mode]
    print(f'{osp.basename(args.config)}: batch {args.batch}, input 3x{shape[0]}x{shape[1]}, '
          f'{device}, {torch.get_num_threads()} threads, warm-up {args.warmup}, '
          f'repeats {args.repeats}')
    results = {}
    for mode in modes:
        model = build_model_from_config(cfg).to(device, memory_format=memory_format)
        result = time_steps({mode: make_step(model, mode)}, x, args.warmup, args.repeats,
                            device)
        results[mode] = result[mode]
        print(summarise(mode, result[mode], args.batch))
    return results


if __name__ == '__main__':
    main()
