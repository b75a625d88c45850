#!/usr/bin/env python
"""Speed and peak memory of a config's model on mmdla's default paths, alone or against timm.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W] [--batch N]
        [--warmup 3] [--repeats 10] [--mode both|infer|train] [--no-optimize] [--compile]
        [--compare-timm [--timm-channels-last] [--memory-repeats 3]]

Runs the config's model (classification, segmentation or detection) on random input on the
current device (CUDA if available, else CPU). Inference is the ``mmdla.apis.init_model``
path (BN folded, channels_last; ``--no-optimize``: the plain model, ``--compile``:
torch.compile); a training step is forward + a mean-square loss on every output + backward
+ SGD on the model as built from the config (channels_last). The default input size and
batch are the task's (``mmdla.libraries``: 8 x 224x224 classification, 2 x 512x1024
segmentation, 2 x 512x512 detection). Prints the median time per batch, its spread, images/s
and peak memory (CUDA: max allocated; CPU: peak resident-set growth, sampled).
``--compare-timm`` (DLA classification configs) gives timm's DLA the same weights and runs
both interleaved; on CPU each peak-memory figure is then the median of fresh processes.
Against the official code: ``benchmark_official.py``.

``--backends torch,torch-bf16,onnxruntime,openvino,openvino-bf16,openvino-int8`` (CPU,
inference; ``mmdla.apis.backends``) exports the model to each runtime and times them
interleaved in one process on one random input: median time, its ratio to ``torch`` (the
fp32 default, always run first), peak memory (each backend alone in a fresh process:
resident-set growth over loading it and the warm-up runs; ``--memory-repeats 0`` skips
it) and the agreement of its outputs with ``torch``'s (relative difference, argmax
agreement of the first output). int8 is calibrated on ``--calib-images`` images of the
config's val set, or with ``--calib-random`` on random inputs (speed only). Give
``--checkpoint`` for agreement figures of trained weights.

This is a measuring script, not a test: nothing is asserted.
"""
import argparse
import os.path as osp
import statistics
import tempfile

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import torch

from mmdla.apis import init_model, optimize_for_inference
from mmdla.apis.backends import (BACKENDS, REFERENCE, load_backend, parse_backends,
                                 write_backend_files)
from mmdla.cli import add_cfg_options, exit_on_input_error
from mmdla.engine import load_config
from mmdla.errors import ConfigInputError
from mmdla.libraries import IMAGE_TASKS, library_of
from mmdla.models.converters import classifier_to_official
from mmdla.utils.allocator import tune_cpu_allocator
from mmdla.utils.benchmark import (PeakMemory, build_initialised, in_fresh_process, inference_step,
                                   median_and_iqr, summarise, time_steps, training_step)


def make_step(model, mode: str, optimize: bool = True, compile: bool = False):
    """One inference or training step on a batch of random input; mmdla models infer
    through ``init_model``'s optimisations unless ``optimize=False``."""
    mmdla_model = hasattr(model, 'data_preprocessor')
    if mode == 'infer':
        if optimize and mmdla_model:
            optimize_for_inference(model, compile=compile)
        model.eval()
    else:
        model.train()
    forward = (lambda x: model(x, mode='tensor')) if mmdla_model else model
    return inference_step(forward) if mode == 'infer' else training_step(
        forward, model.parameters())


def timm_twin(model, cfg):
    """timm's DLA with the same weights as the mmdla ImageClassifier ``model``."""
    import timm
    if cfg.get('default_scope') != 'mmpretrain' or cfg.model.backbone.type != 'DLA':
        raise ConfigInputError('--compare-timm needs a DLA classification config, e.g. '
                               'configs/dla34_imagenet.py')
    twin = timm.create_model(
        cfg.model.backbone.arch, pretrained=False, num_classes=model.head.num_classes)
    twin.load_state_dict(classifier_to_official(model.state_dict()), strict=True)
    return twin.eval()


def build_models(cfg, compare_timm: bool, timm_channels_last: bool, device) -> dict:
    """{'mmdla': model[, 'timm': its twin]} on ``device``."""
    model = build_initialised(cfg)
    models = {'mmdla': model}
    if compare_timm:
        models['timm'] = timm_twin(model, cfg)
        if timm_channels_last:
            models['timm'] = models['timm'].to(memory_format=torch.channels_last)
    return {name: m.to(device) for name, m in models.items()}


def peak_of_one(config, cfg_options, name, mode, batch, shape, warmup, optimize, compile,
                timm_channels_last) -> int:
    """Peak memory (bytes) of one model's warm-up steps alone (run in a fresh process)."""
    tune_cpu_allocator()
    cfg = load_config(config, cfg_options)
    torch.manual_seed(0)
    model = build_models(cfg, name == 'timm', timm_channels_last, torch.device('cpu'))[name]
    step = make_step(model, mode, optimize and name == 'mmdla', compile)
    x = torch.randn(batch, 3, *shape)
    return time_steps({name: step}, (x, ), warmup, 0, torch.device('cpu'))[name]['peak']


def backend_peak(config, cfg_options, checkpoint, name, path, batch, shape, warmup) -> int:
    """Peak memory (bytes) of loading one backend (building the model, or reading its file)
    and its warm-up runs (run in a fresh process)."""
    tune_cpu_allocator()
    backend = BACKENDS[name]
    cfg = load_config(config, cfg_options)
    if backend.runtime != 'torch':
        __import__(backend.runtime)  # the library's code is not the model's memory
    x = torch.randn(batch, 3, *shape)
    with PeakMemory(torch.device('cpu')) as memory:
        model = init_model(cfg, checkpoint) if backend.runtime == 'torch' else None
        runner = load_backend(backend, path, model)
        for _ in range(max(warmup, 1)):
            runner(x)
    return memory.peak


def benchmark_backends(args, cfg, batch: int, shape) -> dict:
    """``--backends``: the table of the module docstring; returns {backend: figures}."""
    from mmdla.apis.export import OUTPUT_NAMES, compare_outputs, task_of
    from mmdla.apis.openvino import calibration_inputs, check_calib_images
    if args.compare_timm or args.mode == 'train' or args.compile:
        raise ConfigInputError('--backends measures inference of exported models: not with '
                               '--compare-timm, --mode train or --compile')
    backends = parse_backends(args.backends)
    model = init_model(cfg, args.checkpoint, optimize=not args.no_optimize)
    calibration = None
    if any(b.precision == 'int8' for b in backends):
        check_calib_images(args.calib_images)
        calibration = ([torch.randn(1, 3, *shape).numpy() for _ in range(args.calib_images)]
                       if args.calib_random else calibration_inputs(cfg, model, args.calib_images))
    print(f'{osp.basename(args.config)}: batch {batch}, input 3x{shape[0]}x{shape[1]}, cpu, '
          f'{torch.get_num_threads()} threads, warm-up {args.warmup}, repeats {args.repeats}, ' +
          ('checkpoint ' + args.checkpoint if args.checkpoint else 'initial weights') +
          (f', int8 calibrated on {len(calibration)} ' +
           ('random inputs' if args.calib_random else 'val images') if calibration else ''))
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_backend_files(backends, model, tmp, batch, shape, calibration)
        runners = {b.name: load_backend(b, paths.get(b.name), model) for b in backends}
        x = torch.randn(batch, 3, *shape)
        outputs = {name: runner(x) for name, runner in runners.items()}  # (compiles)
        timed = time_steps(runners, (x, ), args.warmup, args.repeats, torch.device('cpu'))
        peaks = {
            b.name:
            statistics.median(
                in_fresh_process(__file__, 'backend_peak', args.config, args.cfg_options, args.
                                 checkpoint, b.name, paths.get(b.name), batch, shape, args.warmup)
                for _ in range(args.memory_repeats))
            for b in backends
        } if args.memory_repeats > 0 else {}
    names = OUTPUT_NAMES[task_of(model)]
    reference = statistics.median(timed[REFERENCE]['times'])
    results = {}
    print(f'{"backend":<14} {"precision":<9} {"median ms":>10} {"IQR ms":>8} {"ratio":>6} '
          f'{"peak MiB":>9} {"rel diff":>9} {"argmax agree %":>14}')
    for b in backends:
        median, iqr = median_and_iqr(timed[b.name]['times'])
        diffs = compare_outputs(outputs[REFERENCE], outputs[b.name], names)
        results[b.name] = dict(
            median=median,
            ratio=median / reference,
            peak=peaks.get(b.name),
            rel=max(d.rel for d in diffs),
            agreement=diffs[0].agreement)
        peak = f'{peaks[b.name] / 2**20:9.1f}' if b.name in peaks else f'{"-":>9}'
        print(f'{b.name:<14} {b.precision:<9} {median * 1e3:10.1f} '
              f'{iqr * 1e3:8.1f} {median / reference:6.3f} {peak} '
              f'{results[b.name]["rel"]:9.2e} {diffs[0].agreement:14.3f}')
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a config\'s model (speed and peak '
                                     'memory), alone or against timm')
    parser.add_argument('config')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the task\'s)')
    parser.add_argument('--batch', type=int, help='batch size (default: the task\'s)')
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
        help='with --compare-timm on CPU, or --backends: fresh processes per peak-memory '
        'figure (--backends: 0 skips it)')
    parser.add_argument(
        '--timm-channels-last',
        action='store_true',
        help='with --compare-timm: run timm in channels_last as well')
    parser.add_argument(
        '--backends',
        help='comma-separated inference backends to compare (CPU): ' + ', '.join(BACKENDS))
    parser.add_argument('--checkpoint', help='with --backends: weights to load')
    parser.add_argument(
        '--calib-images',
        type=int,
        default=8,
        help='with --backends openvino-int8: calibration images of the val set (default 8)')
    parser.add_argument(
        '--calib-random',
        action='store_true',
        help='with --backends openvino-int8: calibrate on random inputs instead (speed only)')
    add_cfg_options(parser, 'model.backbone.with_cp=True')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    library = library_of(cfg, 'benchmark.py', IMAGE_TASKS)
    shape = tuple(args.shape or library.shapes['benchmark'])
    batch = args.batch or library.benchmark_batch
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cpu' or args.backends:
        tune_cpu_allocator()  # as the tools do
    torch.manual_seed(0)
    if args.backends:
        return benchmark_backends(args, cfg, batch, shape)
    x = torch.randn(batch, 3, *shape, device=device)
    modes = ['infer', 'train'] if args.mode == 'both' else [args.mode]
    optimize = not args.no_optimize
    print(f'{osp.basename(args.config)}: batch {batch}, input 3x{shape[0]}x{shape[1]}, '
          f'{device}, {torch.get_num_threads()} threads, warm-up {args.warmup}, '
          f'repeats {args.repeats}, mmdla inference: ' +
          ('plain model' if args.no_optimize else 'init_model path') +
          (' + torch.compile' if args.compile else '') +
          (f', timm channels_last={args.timm_channels_last}' if args.compare_timm else ''))
    results = {}
    for mode in modes:
        models = build_models(cfg, args.compare_timm, args.timm_channels_last, device)
        if args.compare_timm:
            with torch.no_grad():
                diff = (models['mmdla'].eval()(x, mode='tensor') -
                        models['timm'](x)).abs().max().item()
            print(f'{mode}: same weights, max |logit difference| {diff:.2e}')
        steps = {
            name: make_step(model, mode, optimize and name == 'mmdla', args.compile)
            for name, model in models.items()
        }
        result = time_steps(steps, (x, ), args.warmup, args.repeats, device)
        if args.compare_timm and device.type == 'cpu':
            for name in result:  # alone, so that the other model's memory does not count
                result[name]['peak'] = int(
                    statistics.median(
                        in_fresh_process(__file__, 'peak_of_one', args.config, args.cfg_options,
                                         name, mode, batch, shape, args.warmup, optimize,
                                         args.compile, args.timm_channels_last)
                        for _ in range(args.memory_repeats)))
        for name, res in result.items():
            print(summarise(f'{mode} {name}', res, batch))
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
