#!/usr/bin/env python
"""Speed and peak memory of mmdla's default paths, alone or against timm / the official code.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W] [--batch N]
        [--warmup 3] [--repeats 10] [--mode both|infer|train] [--no-optimize] [--compile]
        [--compare-timm [--timm-channels-last]]
    python tools/analysis_tools/benchmark.py --official DLA_CHECKOUT [--rounds 2]
        [--repeats 5] [--cases cls-train cls-infer seg-infer seg-infer-compile seg-train]

CONFIG mode runs the config's model on random input on the current device (CUDA if
available, else CPU): inference is the ``mmdla.apis.init_model`` path (BN folded,
channels_last; ``--no-optimize``: the plain model, ``--compile``: torch.compile) and a
training step is forward + a mean-square loss + backward + SGD on the model as built from
the config (channels_last). Prints the median time per batch, its spread, images/s and peak
memory (CUDA: max allocated; CPU: peak resident-set growth, sampled). ``--compare-timm``
(DLA classification configs) gives timm's DLA the same weights and runs both interleaved.

``--official DIR`` (a checkout of https://github.com/ucbdrive/dla, read at run time, never
part of mmdla) measures the targets of mmdla's speed section: each case is the full step a
user runs - data preprocessor (uint8 batch -> normalised input), forward, loss + backward +
SGD update or prediction (argmax) - once through mmdla's default path (the model built from
the config, ``init_model``'s optimisations for inference, the tools' allocator setting) and
once through the official network with the same weights and the same work (its dead
``project`` convs removed, which only helps it). Every measurement is a fresh process;
the processes alternate over ``--rounds``. The official code runs as users run it (glibc's
default allocator) and, for comparison, with mmdla's allocator setting as well.
This is a measuring script, not a test: nothing is asserted.
"""
import argparse
import importlib.util
import json
import logging
import os
import os.path as osp
import statistics
import subprocess
import sys
import threading
import time

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger

from mmdla.apis import optimize_for_inference
from mmdla.cli import exit_on_input_error
from mmdla.engine import load_config
from mmdla.errors import ConfigInputError
from mmdla.utils import build_model_from_config
from mmdla.utils.allocator import tune_cpu_allocator

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


def make_step(model, mode: str, optimize: bool = True, compile: bool = False):
    """A callable running one inference or training step on a batch (random tensors);
    mmdla models infer through ``init_model``'s optimisations unless ``optimize=False``."""
    if mode == 'infer':
        if optimize and hasattr(model, 'data_preprocessor'):
            optimize_for_inference(model, compile=compile)
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
        loss = sum(t.float().pow(2).mean()
                   for t in (out if isinstance(out, (list, tuple)) else [out]))
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
    state = {
        k[len('backbone.'):]: v
        for k, v in model.state_dict().items() if k.startswith('backbone.')
    }
    state['fc.weight'] = model.head.fc.weight.detach()[:, :, None, None]
    state['fc.bias'] = model.head.fc.bias.detach()
    twin.load_state_dict(state, strict=True)
    return twin


def build_initialised(cfg):
    """The config's model (as built from the config: channels_last) with its own init."""
    model = build_model_from_config(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no per-parameter init report
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def build_models(cfg, args, mode: str, device) -> dict:
    """{'mmdla': model[, 'timm': model]} ready for ``mode``."""
    model = build_initialised(cfg)
    models = {'mmdla': model}
    if args.compare_timm:
        if cfg.get('default_scope') != 'mmpretrain' or cfg.model.backbone.type != 'DLA':
            raise ConfigInputError('--compare-timm needs a DLA classification config, e.g. '
                                   'configs/dla34_imagenet.py')
        models['timm'] = timm_twin(model, cfg).eval()
        if args.timm_channels_last:
            models['timm'] = models['timm'].to(memory_format=torch.channels_last)
    return {name: m.to(device) for name, m in models.items()}


def peak_in_subprocess(argv, name: str, mode: str, repeats: int) -> int:
    """Peak memory of one model and mode, measured in fresh processes (so that the other
    model's allocations and the allocator's caches do not distort it); the median of
    ``repeats`` processes, as the resident-set peak varies by ~10 % from run to run."""
    argv = [a for i, a in enumerate(argv) if a != '--mode' and argv[i - 1] != '--mode']
    peaks = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable,
             osp.abspath(__file__), *argv, '--only', name, '--mode', mode],
            capture_output=True,
            text=True,
            check=True).stdout
        peaks.append(int(out.strip().splitlines()[-1].split()[-1]))
    return int(statistics.median(peaks))


# ------------------------------------------------------ against the official code (--official)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS_CONFIG, SEG_CONFIG = 'configs/dla34_imagenet.py', 'configs/dla34_cityscapes.py'
#: case -> (config, mode, batch, (H, W), compile, target ratio mmdla / official)
CASES = {
    'cls-train': (CLS_CONFIG, 'train', 8, (224, 224), False, 0.85),
    'cls-infer': (CLS_CONFIG, 'infer', 8, (224, 224), False, 0.75),
    'seg-infer': (SEG_CONFIG, 'infer', 1, (1024, 2048), False, 0.65),
    'seg-infer-compile': (SEG_CONFIG, 'infer', 1, (1024, 2048), True, 0.55),
    'seg-train': (SEG_CONFIG, 'train', 2, (512, 1024), False, 0.85),
}
#: the measured implementations: mmdla's default path; the official code as it runs; the
#: official code with mmdla's allocator setting
IMPLEMENTATIONS = ('mmdla', 'official', 'official+allocator')


def load_official(repo: str) -> dict:
    """The official ``dla`` and ``dla_up`` modules of a ucbdrive/dla checkout, imported by
    path (``dla_up`` imports ``dla``, which imports ``dataset``)."""
    modules = {}
    for name in ('dataset', 'dla', 'dla_up'):
        path = osp.join(repo, f'{name}.py')
        if not osp.isfile(path):
            raise ConfigInputError(f"--official '{repo}' has no {name}.py: give a checkout of "
                                   'https://github.com/ucbdrive/dla')
        spec = importlib.util.spec_from_file_location(name, path)
        modules[name] = importlib.util.module_from_spec(spec)
        sys.modules[name] = modules[name]
        spec.loader.exec_module(modules[name])
    return modules


def official_twin(model, task: str, repo: str):
    """The official network (dead ``project`` convs removed) with ``model``'s weights."""
    modules = load_official(repo)
    state = model.state_dict()
    if task == 'mmpretrain':
        twin = modules['dla'].__dict__[model.backbone.arch](num_classes=model.head.num_classes)
        mapped = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
        mapped['fc.weight'] = state['head.fc.weight'][:, :, None, None]
        mapped['fc.bias'] = state['head.fc.bias']
        base = twin
    else:
        head = model.decode_head
        twin = modules['dla_up'].DLASeg(
            model.backbone.arch, head.num_classes, down_ratio=head.down_ratio)
        renames = (('backbone.', 'base.'), ('decode_head.dla_up.', 'dla_up.'),
                   ('decode_head.conv_seg.', 'fc.0.'), ('decode_head.up.', 'up.'))
        mapped = {
            new + k[len(old):]: v
            for k, v in state.items()
            for old, new in renames if k.startswith(old)
        }
        mapped.update({
            k: v
            for k, v in twin.state_dict().items() if k.startswith('base.fc.')
        })  # the unused classifier of its base
        base = twin.base
    for module in base.modules():  # the dead convs: computed, never used
        if type(module).__name__ == 'Tree' and module.levels > 1:
            module.project = None
    twin.load_state_dict(mapped, strict=True)
    return twin


def random_batch(task: str, batch: int, shape):
    """MMEngine data (uint8 images + data samples with random labels), as a loader gives."""
    g = torch.Generator().manual_seed(0)
    images = [
        torch.randint(0, 256, (3, *shape), generator=g, dtype=torch.uint8) for _ in range(batch)
    ]
    if task == 'mmpretrain':
        from mmpretrain.structures import DataSample
        samples = [
            DataSample().set_gt_label(int(torch.randint(0, 1000, (1, ), generator=g)))
            for _ in range(batch)
        ]
    else:
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(batch):
            sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, *shape), generator=g))
            samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def official_step(twin, cfg, mode: str, data: dict):
    """The same work through the official network: stack, BGR -> RGB, normalise, forward,
    then argmax or loss (CrossEntropy / the official NLLLoss on log-softmax) + SGD."""
    import torch.nn.functional as F
    pre = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
    mean = torch.tensor(pre['mean']).view(1, 3, 1, 1)
    std = torch.tensor(pre['std']).view(1, 3, 1, 1)
    segmentation = cfg.default_scope == 'mmseg'
    if segmentation:
        labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    else:
        labels = torch.tensor([int(s.gt_label) for s in data['data_samples']])

    def inputs():
        x = torch.stack(data['inputs'])[:, [2, 1, 0]].float()
        return (x - mean) / std

    if mode == 'infer':
        twin.eval()

        def step():
            with torch.no_grad():
                out = twin(inputs())
                return (out[0] if segmentation else out.softmax(1)).argmax(1)

        return step
    twin.train()
    optimizer = torch.optim.SGD([p for p in twin.parameters() if p.requires_grad],
                                lr=1e-4,
                                momentum=0.9)

    def step():
        out = twin(inputs())
        loss = (
            F.nll_loss(out[0], labels, ignore_index=255) if segmentation else F.cross_entropy(
                out, labels))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def mmdla_step(model, mode: str, compile: bool, data: dict):
    """mmdla's default path: init_model's optimisations + test_step, or train_step."""
    from mmengine.optim import OptimWrapper
    if mode == 'infer':
        optimize_for_inference(model, compile=compile)

        def step():
            with torch.no_grad():
                return model.test_step(data)

        return step
    model.train()
    optim_wrapper = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9))
    return lambda: model.train_step(data, optim_wrapper)


def run_case(case: str, implementation: str, repo: str, warmup: int, repeats: int) -> dict:
    """One measurement (this process): times of ``repeats`` steps after ``warmup``, peak
    memory over the whole run, and the max output difference of the two networks."""
    config, mode, batch, shape, compile, _ = CASES[case]
    torch.manual_seed(0)
    if implementation != 'official':
        tune_cpu_allocator()
    cfg = load_config(osp.join(ROOT, config))
    if cfg.default_scope == 'mmseg':  # no padding to the config's crop size
        cfg.model.data_preprocessor.size = shape
    model = build_initialised(cfg)
    data = random_batch(cfg.default_scope, batch, shape)
    if implementation == 'mmdla':
        step = mmdla_step(model, mode, compile, data)
    else:
        step = official_step(official_twin(model, cfg.default_scope, repo), cfg, mode, data)
    with PeakMemory(torch.device('cpu')) as memory:
        for _ in range(warmup):
            step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    return dict(times=times, peak=memory.peak)


def output_difference(case: str, repo: str) -> float:
    """Max |output difference| of the official twin and mmdla's default inference path
    (logits, or log-probabilities for segmentation) on one random batch, relative to the
    largest |output|."""
    config, _, batch, shape, _, _ = CASES[case]
    cfg = load_config(osp.join(ROOT, config))
    torch.manual_seed(0)
    model = build_initialised(cfg)
    twin = official_twin(model, cfg.default_scope, repo).eval()
    optimize_for_inference(model)
    segmentation = cfg.default_scope == 'mmseg'
    x = torch.randn(1, 3, *[s // 4 for s in shape] if segmentation else shape)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        theirs = twin(x)
        if segmentation:
            ours, theirs = ours.log_softmax(1), theirs[0]
    return ((ours - theirs).abs().max() / theirs.abs().max()).item()


def against_official(args) -> dict:
    """Alternate fresh processes per case and implementation; print the table."""
    repo = osp.abspath(args.official)
    load_official(repo)  # a clear error now rather than in every worker
    print(f'against the official code in {repo}: {torch.get_num_threads()} threads, '
          f'{args.rounds} rounds x (warm-up {args.warmup} + {args.repeats} steps), '
          'one fresh process per measurement')
    report = {}
    for case in args.cases:
        config, mode, batch, shape, compile, target = CASES[case]
        runs = {impl: [] for impl in IMPLEMENTATIONS}
        for _ in range(args.rounds):
            for impl in IMPLEMENTATIONS:
                out = subprocess.run([
                    sys.executable,
                    osp.abspath(__file__), '--official', repo, '--worker', case, impl, '--warmup',
                    str(args.warmup), '--repeats',
                    str(args.repeats)
                ],
                                     capture_output=True,
                                     text=True)
                if out.returncode:
                    raise RuntimeError(f'{case} / {impl} failed:\n{out.stderr[-3000:]}')
                runs[impl].append(json.loads(out.stdout.strip().splitlines()[-1]))
        median = {
            impl: statistics.median(t for r in rs for t in r['times'])
            for impl, rs in runs.items()
        }
        peak = {impl: statistics.median(r['peak'] for r in rs) for impl, rs in runs.items()}
        diff = output_difference(case, repo)
        ratio = median['mmdla'] / median['official']
        ratio_tuned = median['mmdla'] / median['official+allocator']
        memory = peak['mmdla'] / max(peak['official'], 1)
        memory_tuned = peak['mmdla'] / max(peak['official+allocator'], 1)
        report[case] = dict(
            median=median,
            peak=peak,
            ratio=ratio,
            ratio_tuned=ratio_tuned,
            memory=memory,
            memory_tuned=memory_tuned,
            diff=diff)
        what = (f'{config} {mode}, batch {batch}, {shape[0]}x{shape[1]}' +
                (', --compile' if compile else ''))
        print(f'\n{case}: {what} (same weights: max relative output difference {diff:.1e})')
        for impl in IMPLEMENTATIONS:
            print(f'  {impl:<20} median {median[impl] * 1e3:9.1f} ms   peak memory '
                  f'{peak[impl] / 2**20:8.1f} MiB')
        print(f'  mmdla / official: time {ratio:.3f} (target <= {target}, '
              f'{"met" if ratio <= target else "NOT met"}), peak memory {memory:.2f}; against '
              f'official+allocator: time {ratio_tuned:.3f}, peak memory {memory_tuned:.2f}')
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a config\'s model, or mmdla '
                                     'against the official code (--official)')
    parser.add_argument('config', nargs='?')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--mode', choices=['both', 'infer', 'train'], default='both')
    parser.add_argument(
        '--no-optimize',
        action='store_true',
        help='inference: the plain model instead of init_model\'s path')
    parser.add_argument('--compile', action='store_true', help='inference: torch.compile')
    parser.add_argument(
        '--compare-timm',
        action='store_true',
        help='also run timm\'s DLA with the same weights, interleaved, and '
        'print the mmdla / timm ratios')
    parser.add_argument(
        '--memory-repeats',
        type=int,
        default=3,
        help='with --compare-timm on CPU: processes per peak-memory figure')
    parser.add_argument(
        '--timm-channels-last',
        action='store_true',
        help='with --compare-timm: run timm in channels_last as well')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.with_cp=True')
    parser.add_argument(
        '--official',
        metavar='DLA_CHECKOUT',
        help='a checkout of github.com/ucbdrive/dla: measure the targets '
        'against the official code')
    parser.add_argument(
        '--cases',
        nargs='+',
        choices=list(CASES),
        default=list(CASES),
        help='with --official: which cases')
    parser.add_argument(
        '--rounds',
        type=int,
        default=2,
        help='with --official: alternating processes per implementation')
    parser.add_argument('--only', choices=['mmdla', 'timm'], help=argparse.SUPPRESS)
    parser.add_argument('--worker', nargs=2, metavar=('CASE', 'IMPL'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.official is None and args.config is None:
        parser.error('give a CONFIG, or --official DLA_CHECKOUT')
    return args


@exit_on_input_error
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:  # internal: one measurement of --official, in this fresh process
        case, implementation = args.worker
        print(json.dumps(run_case(case, implementation, args.official, args.warmup, args.repeats)))
        return None
    if args.official:
        if '--warmup' not in argv:
            args.warmup = 2
        if '--repeats' not in argv:
            args.repeats = 5
        return against_official(args)
    cfg = load_config(args.config, args.cfg_options)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cpu':
        tune_cpu_allocator()  # as the tools do
    shape = tuple(args.shape or DEFAULT_SHAPES[cfg.get('default_scope', 'mmseg')])
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, *shape, device=device)
    modes = ['infer', 'train'] if args.mode == 'both' else [args.mode]
    optimize = not args.no_optimize

    def steps_of(models, mode):
        return {
            name: make_step(model, mode, optimize and name == 'mmdla', args.compile)
            for name, model in models.items()
        }

    if args.only:  # internal: peak memory of one model in this fresh process
        model = build_models(cfg, args, modes[0], device)[args.only]
        step = steps_of({args.only: model}, modes[0])
        result = time_steps(step, x, args.warmup, 0, device)
        print(f'peak {result[args.only]["peak"]}')
        return result
    print(f'{osp.basename(args.config)}: batch {args.batch}, input 3x{shape[0]}x{shape[1]}, '
          f'{device}, {torch.get_num_threads()} threads, warm-up {args.warmup}, '
          f'repeats {args.repeats}, mmdla inference: ' +
          ('plain model' if args.no_optimize else 'init_model path') +
          (' + torch.compile' if args.compile else '') +
          (f', timm channels_last={args.timm_channels_last}' if args.compare_timm else ''))
    results = {}
    for mode in modes:
        models = build_models(cfg, args, mode, device)
        if args.compare_timm:
            with torch.no_grad():
                diff = (models['mmdla'].eval()(x, mode='tensor') -
                        models['timm'].eval()(x)).abs().max().item()
            print(f'{mode}: same weights, max |logit difference| {diff:.2e}')
        result = time_steps(steps_of(models, mode), x, args.warmup, args.repeats, device)
        if args.compare_timm and device.type == 'cpu':
            for name in result:
                result[name]['peak'] = peak_in_subprocess(argv, name, mode, args.memory_repeats)
        for name, res in result.items():
            print(summarise(f'{mode} {name}', res, args.batch))
        if args.compare_timm:
            ratio = (
                statistics.median(result['mmdla']['times']) /
                statistics.median(result['timm']['times']))
            memory = result['mmdla']['peak'] / max(result['timm']['peak'], 1)
            print(f'{mode} mmdla / timm: time {ratio:.3f}, peak memory {memory:.3f}')
            result['ratio'] = dict(time=ratio, memory=memory)
        results[mode] = result
    return results


if __name__ == '__main__':
    main()
