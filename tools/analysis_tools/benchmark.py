#!/usr/bin/env python
"""Inference and training-step speed and peak memory of any config's model.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W] [--batch N]
        [--warmup 3] [--repeats 10] [--mode both|infer|train] [--channels-last]
        [--fuse-conv-bn] [--compare-timm [--timm-channels-last]]

Runs on the current device (CUDA if available, else CPU) with random input; a training
step is forward + a mean-square loss on the output + backward + SGD update. Prints the
median time per batch, its spread (min-max and the interquartile range), images/s and
peak memory (CUDA: max allocated; CPU: peak resident-set growth over the run, sampled).
With ``--compare-timm`` (DLA classification configs) timm's DLA gets the same weights,
both run interleaved in one process on the same input, and the median time ratio
mmdla / timm is printed for inference and for a training step; peak memory is then
measured for each model in a fresh process.
This is a measuring script, not a test: nothing is asserted.
"""
import argparse
import logging
import os
import os.path as osp
import statistics
import sys
import threading
import time

import mmdla  # noqa: F401  (compat fixes + registration)
import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger

from mmdla.engine import load_config
from mmdla.errors import ConfigInputError, exit_on_input_error
from mmdla.utils import build_model_from_config

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


def timm_twin(model, cfg):
    """timm's DLA with the same weights as the mmdla ImageClassifier ``model``."""
    import timm
    arch = cfg.model.backbone.arch
    twin = timm.create_model(arch, pretrained=False, num_classes=model.head.num_classes)
    state = {k[len('backbone.'):]: v for k, v in model.state_dict().items()
             if k.startswith('backbone.')}
    state['fc.weight'] = model.head.fc.weight.detach()[:, :, None, None]
    state['fc.bias'] = model.head.fc.bias.detach()
    twin.load_state_dict(state, strict=True)
    return twin


def build_models(cfg, args, mode: str, device) -> dict:
    """{'mmdla': model[, 'timm': model]} ready for ``mode``."""
    import copy

    from mmcv.cnn import fuse_conv_bn
    model = build_model_from_config(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no per-parameter init report
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    models = {'mmdla': model}
    if args.compare_timm:
        if cfg.get('default_scope') != 'mmpretrain' or cfg.model.backbone.type != 'DLA':
            raise ConfigInputError('--compare-timm needs a DLA classification config, e.g. '
                                   'configs/dla34_imagenet.py')
        models['timm'] = timm_twin(model, cfg).eval()
    if mode == 'infer' and args.fuse_conv_bn:
        models['mmdla'] = fuse_conv_bn(copy.deepcopy(model).eval())
    formats = {'mmdla': args.channels_last, 'timm': args.timm_channels_last}
    for name in models:
        fmt = torch.channels_last if formats[name] else torch.contiguous_format
        models[name] = models[name].to(device, memory_format=fmt)
    return models


def peak_in_subprocess(argv, name: str, mode: str, repeats: int) -> int:
    """Peak memory of one model and mode, measured in fresh processes (so that the other
    model's allocations and the allocator's caches do not distort it); the median of
    ``repeats`` processes, as the resident-set peak varies by ~10 % from run to run."""
    import subprocess
    argv = [a for i, a in enumerate(argv) if a != '--mode' and argv[i - 1] != '--mode']
    peaks = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, osp.abspath(__file__), *argv, '--only', name,
                              '--mode', mode], capture_output=True, text=True,
                             check=True).stdout
        peaks.append(int(out.strip().splitlines()[-1].split()[-1]))
    return int(statistics.median(peaks))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a config\'s model')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--mode', choices=['both', 'infer', 'train'], default='both')
    parser.add_argument('--channels-last', action='store_true',
                        help='run mmdla in channels_last memory format')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='inference: fold BN into the preceding convs (mmcv.cnn)')
    parser.add_argument('--compare-timm', action='store_true',
                        help='also run timm\'s DLA with the same weights, interleaved, and '
                             'print the mmdla / timm ratios')
    parser.add_argument('--memory-repeats', type=int, default=3,
                        help='with --compare-timm on CPU: processes per peak-memory figure')
    parser.add_argument('--timm-channels-last', action='store_true',
                        help='with --compare-timm: run timm in channels_last as well')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.backbone.with_cp=True')
    parser.add_argument('--only', choices=['mmdla', 'timm'], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    shape = tuple(args.shape or DEFAULT_SHAPES[cfg.get('default_scope', 'mmseg')])
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, *shape, device=device)
    modes = ['infer', 'train'] if args.mode == 'both' else [args.mode]
    if args.only:  # internal: peak memory of one model in this fresh process
        model = build_models(cfg, args, modes[0], device)[args.only]
        result = time_steps({args.only: make_step(model, modes[0])}, x, args.warmup, 0, device)
        print(f'peak {result[args.only]["peak"]}')
        return result
    print(f'{osp.basename(args.config)}: batch {args.batch}, input 3x{shape[0]}x{shape[1]}, '
          f'{device}, {torch.get_num_threads()} threads, warm-up {args.warmup}, '
          f'repeats {args.repeats}, mmdla channels_last={args.channels_last} '
          f'fuse_conv_bn={args.fuse_conv_bn}'
          + (f', timm channels_last={args.timm_channels_last}' if args.compare_timm else ''))
    results = {}
    for mode in modes:
        models = build_models(cfg, args, mode, device)
        if args.compare_timm:
            with torch.no_grad():
                diff = (models['mmdla'].eval()(x, mode='tensor')
                        - models['timm'].eval()(x)).abs().max().item()
            print(f'{mode}: same weights, max |logit difference| {diff:.2e}')
        steps = {name: make_step(model, mode) for name, model in models.items()}
        result = time_steps(steps, x, args.warmup, args.repeats, device)
        if args.compare_timm and device.type == 'cpu':
            for name in result:
                result[name]['peak'] = peak_in_subprocess(argv, name, mode,
                                                          args.memory_repeats)
        for name, res in result.items():
            print(summarise(f'{mode} {name}', res, args.batch))
        if args.compare_timm:
            ratio = (statistics.median(result['mmdla']['times'])
                     / statistics.median(result['timm']['times']))
            memory = result['mmdla']['peak'] / max(result['timm']['peak'], 1)
            print(f'{mode} mmdla / timm: time {ratio:.3f}, peak memory {memory:.3f}')
            result['ratio'] = dict(time=ratio, memory=memory)
        results[mode] = result
    return results


if __name__ == '__main__':
    main()
