#!/usr/bin/env python
"""mmdla's default paths against the official DLA code (ucbdrive/dla), same weights, same work.

    python tools/analysis_tools/benchmark_official.py DLA_CHECKOUT [--rounds 2]
        [--warmup 2] [--repeats 5]
        [--cases cls-train cls-infer seg-infer seg-infer-compile seg-train]

DLA_CHECKOUT is a checkout of https://github.com/ucbdrive/dla, read at run time, never part
of mmdla. Each case is the full step a user runs - data preprocessor (uint8 batch ->
normalised input), forward, loss + backward + SGD update or prediction (argmax) - once
through mmdla's default path (the model built from the config, ``init_model``'s
optimisations for inference, the tools' allocator setting) and once through the official
network with the same weights and the same work (its dead ``project`` convs removed, which
only helps it). Every measurement is a fresh process; the processes alternate over
``--rounds``. The official code runs as users run it (glibc's default allocator) and, for
comparison, with mmdla's allocator setting as well. Prints per case the medians, peak
memory, the mmdla / official ratios against the README's targets and the output
difference of the two networks. This is a measuring script, not a test: nothing is asserted.
"""
import argparse
import importlib.util
import os.path as osp
import statistics
import sys

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import torch
import torch.nn.functional as F

from mmdla.apis import optimize_for_inference
from mmdla.cli import exit_on_input_error
from mmdla.engine import load_config
from mmdla.errors import ConfigInputError
from mmdla.models.converters import classifier_to_official, to_official_names
from mmdla.utils.allocator import tune_cpu_allocator
from mmdla.utils.benchmark import (build_initialised, in_fresh_process, inference_step, time_steps,
                                   training_step)

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
CPU = torch.device('cpu')


def load_official(repo: str) -> dict:
    """The official ``dla`` and ``dla_up`` modules of a ucbdrive/dla checkout, imported by
    path (``dla_up`` imports ``dla``, which imports ``dataset``)."""
    modules = {}
    for name in ('dataset', 'dla', 'dla_up'):
        path = osp.join(repo, f'{name}.py')
        if not osp.isfile(path):
            raise ConfigInputError(f"'{repo}' has no {name}.py: give a checkout of "
                                   'https://github.com/ucbdrive/dla')
        spec = importlib.util.spec_from_file_location(name, path)
        modules[name] = importlib.util.module_from_spec(spec)
        sys.modules[name] = modules[name]
        spec.loader.exec_module(modules[name])
    return modules


def official_twin(model, scope: str, repo: str):
    """The official network (dead ``project`` convs removed) with ``model``'s weights."""
    modules = load_official(repo)
    state = model.state_dict()
    if scope == 'mmpretrain':
        twin = modules['dla'].__dict__[model.backbone.arch](num_classes=model.head.num_classes)
        mapped = classifier_to_official(state)
        base = twin
    else:
        head = model.decode_head
        twin = modules['dla_up'].DLASeg(
            model.backbone.arch, head.num_classes, down_ratio=head.down_ratio)
        mapped = dict(to_official_names(state))
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


def random_batch(scope: str, batch: int, shape):
    """MMEngine data (uint8 images + data samples with random labels), as a loader gives."""
    g = torch.Generator().manual_seed(0)
    images = [
        torch.randint(0, 256, (3, *shape), generator=g, dtype=torch.uint8) for _ in range(batch)
    ]
    if scope == 'mmpretrain':
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
    pre = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
    mean = torch.tensor(pre['mean']).view(1, 3, 1, 1)
    std = torch.tensor(pre['std']).view(1, 3, 1, 1)
    segmentation = cfg.default_scope == 'mmseg'
    if segmentation:
        labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    else:
        labels = torch.tensor([int(s.gt_label) for s in data['data_samples']])

    def forward():
        x = torch.stack(data['inputs'])[:, [2, 1, 0]].float()
        return twin((x - mean) / std)

    if mode == 'infer':
        twin.eval()
        return inference_step(lambda: (forward()[0]
                                       if segmentation else forward().softmax(1)).argmax(1))
    twin.train()
    if segmentation:
        return training_step(forward, twin.parameters(),
                             lambda out: F.nll_loss(out[0], labels, ignore_index=255))
    return training_step(forward, twin.parameters(), lambda out: F.cross_entropy(out, labels))


def mmdla_step(model, mode: str, compile: bool, data: dict):
    """mmdla's default path: init_model's optimisations + test_step, or train_step."""
    from mmengine.optim import OptimWrapper
    if mode == 'infer':
        optimize_for_inference(model, compile=compile)
        return inference_step(lambda: model.test_step(data))
    model.train()
    optim_wrapper = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9))
    return lambda: model.train_step(data, optim_wrapper)


def run_case(case: str, implementation: str, repo: str, warmup: int, repeats: int) -> dict:
    """One measurement (run in a fresh process): times of ``repeats`` steps after
    ``warmup`` and the peak memory from the first step on."""
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
    return time_steps({case: step}, (), warmup, repeats, CPU)[case]


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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmdla against the official DLA code')
    parser.add_argument(
        'official', metavar='DLA_CHECKOUT', help='a checkout of '
        'https://github.com/ucbdrive/dla')
    parser.add_argument(
        '--cases', nargs='+', choices=list(CASES), default=list(CASES), help='which cases')
    parser.add_argument(
        '--rounds', type=int, default=2, help='alternating processes per implementation')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None) -> dict:
    args = parse_args(argv)
    repo = osp.abspath(args.official)
    load_official(repo)  # a clear error now rather than in every measurement
    print(f'against the official code in {repo}: {torch.get_num_threads()} threads, '
          f'{args.rounds} rounds x (warm-up {args.warmup} + {args.repeats} steps), '
          'one fresh process per measurement')
    report = {}
    for case in args.cases:
        config, mode, batch, shape, compile, target = CASES[case]
        runs = {impl: [] for impl in IMPLEMENTATIONS}
        for _ in range(args.rounds):
            for impl in IMPLEMENTATIONS:
                runs[impl].append(
                    in_fresh_process(__file__, 'run_case', case, impl, repo, args.warmup,
                                     args.repeats))
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


if __name__ == '__main__':
    main()
