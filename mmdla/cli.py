"""The command-line layer the tools share (``tools/*.py``, ``demo/``); the library never
imports it.

* argument sets: :func:`add_runner_args` (train.py / test.py), :func:`export_parser` (the
  deployment tools);
* argument checks that need the file system: :func:`check_image_output`;
* reports: :func:`export_report`;
* exit codes: :func:`exit_on_input_error` - an :class:`~mmdla.errors.InputError` becomes
  ``error: <one line>`` on stderr and exit code 2; any other exception keeps its traceback
  (a bug, not bad input).

The library functions these tools call take plain arguments (no ``argparse.Namespace``).
"""
import argparse
import os
import os.path as osp
import sys
from functools import wraps
from typing import List

import numpy as np
from mmengine.config import DictAction

from mmdla.apis.export import (EXPORTERS, MIN_AGREEMENT, MIN_SIZE, RTOL, ExportResult, check_batch,
                               check_shape, export_model)
from mmdla.apis.openvino import PRECISIONS, convert_config_model
from mmdla.errors import ConfigInputError, input_error_message
from mmdla.libraries import IMAGE_TASKS, LIBRARIES
from mmdla.utils.allocator import tune_cpu_allocator

__all__ = [
    'exit_on_input_error', 'add_runner_args', 'parse_runner_args', 'check_image_output',
    'export_parser', 'export_report'
]


def exit_on_input_error(main):
    """Decorate a tool's ``main``: bad input -> ``error: <one line>`` on stderr, exit 2."""

    @wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except Exception as exc:
            message = input_error_message(exc)
            if message is None:
                raise
            print(f'error: {message}', file=sys.stderr)
            sys.exit(2)

    return wrapper


def add_cfg_options(parser: argparse.ArgumentParser, example: str) -> None:
    """``--cfg-options KEY=VALUE ...`` (MMEngine's DictAction), with ``example`` in its help."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override config settings, e.g. {example}')


def add_runner_args(parser: argparse.ArgumentParser, tensorboard: bool = False) -> None:
    """The arguments tools/train.py and tools/test.py share: --amp, --cfg-options,
    --launcher, --local-rank (torch.distributed.launch style); with ``tensorboard`` also
    ``--tensorboard`` (train.py only: a test run logs no scalars to the visualizer, only its
    json / text log)."""
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (float16 autocast; needs a GPU)')
    add_cfg_options(parser, 'train_cfg.max_iters=10')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    if tensorboard:
        parser.add_argument(
            '--tensorboard',
            action='store_true',
            help='also log the scalars (loss, lr, metrics) for TensorBoard: '
            'events file in WORK_DIR/<timestamp>/vis_data')


def parse_runner_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv``; ``--local-rank`` becomes ``LOCAL_RANK`` as torchrun sets it."""
    try:
        args = parser.parse_args(argv)
    except RecursionError:  # MMEngine's DictAction on a dict literal, e.g. key={'a': 1}
        raise ConfigInputError('--cfg-options takes no dict literals (key={...}): write a '
                               "config that inherits this one (_base_ = './the_config.py') "
                               'and sets the dict there') from None
    except ValueError as exc:  # DictAction on an item without '=' (key.split('=', 1))
        items = list(argv if argv is not None else sys.argv[1:])
        items = items[items.index('--cfg-options') + 1:] if '--cfg-options' in items else []
        bad = next((a for a in items if '=' not in a), '?')
        raise ConfigInputError(f"--cfg-options items are KEY=VALUE; got {bad!r} ({exc})") from None
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def check_image_output(path: str, example: str = 'out.png') -> None:
    """An output picture path (``--out``): its directory exists and it has an extension
    (matplotlib picks the format from it); else a :class:`ConfigInputError`."""
    out_dir = osp.dirname(osp.abspath(path))
    if not osp.isdir(out_dir):
        raise ConfigInputError(f"--out '{path}': directory '{out_dir}' does not exist")
    if not osp.splitext(path)[1]:
        raise ConfigInputError(f"--out '{path}' has no extension: give an image file name, "
                               f'e.g. {example} (.png, .pdf, .svg, .jpg)')


def export_parser(fmt: str, description: str) -> argparse.ArgumentParser:
    """The command line of ``tools/deployment/pytorch2<fmt>.py`` (onnx, torchscript,
    openvino)."""
    onnx = fmt == 'onnx'
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file (configs/*.py)')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help="checkpoint trained or converted for the config (optional: "
        "without it the config's initial, random weights are exported, "
        'which tests the export but predicts nothing)')
    parser.add_argument(
        '--out',
        required=True,
        help={
            'onnx': 'output file (.onnx)',
            'torchscript': 'output file (.pt)',
            'openvino': 'output directory (model.xml + model.bin written there) or .xml file'
        }[fmt])
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='SIZE',
        help='input H W (or one size for H = W) to trace and check at, each '
        f'>= {MIN_SIZE}; default ' +
        ', '.join(f'{h}x{w} ({lib.task})' for lib in LIBRARIES.values() if lib.task in IMAGE_TASKS
                  for h, w in [lib.shapes['export']]))
    parser.add_argument('--batch', type=int, default=1, help='batch size (default 1)')
    if fmt == 'openvino':
        parser.add_argument(
            '--precision',
            choices=PRECISIONS,
            default='fp32',
            help='fp32 (default); bf16 (the IR run in bf16); int8 (NNCF post-training '
            'quantisation calibrated on the validation set)')
        parser.add_argument(
            '--calib-images',
            type=int,
            default=300,
            help='int8: calibration images from the config\'s val_dataloader (default 300, '
            'or all it has if fewer)')
    if onnx:
        parser.add_argument(
            '--dynamic',
            action='store_true',
            help='free batch, height and width (any N, H, W >= 32); also '
            'checked at batch + 1 and a second size. Default: the file '
            'takes only the --batch x --shape input')
        parser.add_argument(
            '--opset', type=int, help='ONNX opset (default 17; 18 with --exporter dynamo)')
        parser.add_argument(
            '--exporter',
            choices=EXPORTERS,
            default='torchscript',
            help='torchscript: torch.onnx.export(dynamo=False), the '
            'TorchScript-based tracer (default, fast); dynamo: '
            'dynamo=True (torch.export + onnxscript, slower)')
    parser.add_argument(
        '--check-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='the second size a dynamic ' + ('file' if onnx else 'module') +
        ' is checked at (default: H + 5, W + 3)')
    parser.add_argument(
        '--no-optimize',
        action='store_true',
        help="export the model without init_model's optimisations (BN "
        'not folded into the convs: 10 more ONNX nodes for DLA-34 + '
        'DLA-Up; same outputs up to float rounding)')
    add_cfg_options(parser, 'model.neck.use_dcn=False')
    return parser


def export_report(result: ExportResult) -> List[str]:
    """The report the tools print, one line per check and output."""
    what, runtime, loaded = {
        'onnx': ('ONNX', 'onnxruntime', 'session'),
        'torchscript': ('TorchScript', 'torch.jit', 'module'),
        'openvino': (f'OpenVINO {result.precision}', 'openvino', 'model')
    }[result.fmt]
    lines = [
        f'{what} {result.task} model: {result.path} ({result.size_mb:.1f} MiB), '
        f'exported in {result.export_s:.2f} s' +
        (', dynamic batch / height / width' if result.dynamic else ', static shape')
    ]
    if result.portable_deform_convs:
        lines.append(f"{result.portable_deform_convs} mmcv DCNv2 layers exported as plain ops "
                     "(grid_sample + matmul); checked against mmcv's kernels")
    if not result.checks:
        return lines + ['not checked']
    criterion = (f'pass: <= {RTOL:g} and argmax agreement >= {MIN_AGREEMENT:g} %'
                 if result.precision == 'fp32' else
                 f'{result.precision}: reported (pass: right shapes, finite)')
    lines.append(f'{runtime} {loaded} loaded in {result.load_s:.2f} s; relative difference = '
                 f'max|a - b| / max|b|, {criterion}')
    for check in result.checks:
        lines.append(f'input ({check.batch}, 3, {check.shape[0]}, {check.shape[1]}): '
                     f'PyTorch {check.torch_ms:.1f} ms, {runtime} {check.runtime_ms:.1f} ms')
        for o in check.outputs:
            agreement = '' if o.agreement is None else f', argmax agreement {o.agreement:.3f} %'
            ok = o.ok if result.precision == 'fp32' else bool(np.isfinite(o.rel))
            lines.append(f'  {o.name} {tuple(o.shape)}: max abs diff {o.max_abs:.3g}, relative '
                         f'diff {o.rel:.3g}{agreement}  {"ok" if ok else "FAILED"}')
    lines.append('parity check passed' if result.ok else 'parity check FAILED')
    return lines


def export_main(fmt: str, description: str, argv=None) -> int:
    """``tools/deployment/pytorch2<fmt>.py``: parse, export, check, print the report; 0 if
    the check passes, 1 if not."""
    args = export_parser(fmt, description).parse_args(argv)
    dynamic = getattr(args, 'dynamic', True)  # (a TorchScript module takes any size)
    shape = None if args.shape is None else check_shape(args.shape, '--shape')
    other_shape = (None
                   if args.check_shape is None else check_shape(args.check_shape, '--check-shape'))
    if other_shape is not None and not dynamic:
        raise ConfigInputError('--check-shape checks a dynamic file: add --dynamic')
    check_batch(args.batch, '--batch')
    tune_cpu_allocator()
    if fmt == 'openvino':
        result = convert_config_model(
            args.config,
            args.checkpoint,
            args.out,
            shape,
            precision=args.precision,
            calib_images=args.calib_images,
            batch=args.batch,
            other_shape=other_shape,
            optimize=not args.no_optimize,
            cfg_options=args.cfg_options)
    else:
        result = export_model(
            args.config,
            args.checkpoint,
            fmt,
            args.out,
            shape,
            batch=args.batch,
            dynamic=dynamic,
            other_shape=other_shape,
            opset=getattr(args, 'opset', None),
            exporter=getattr(args, 'exporter', 'torchscript'),
            optimize=not args.no_optimize,
            cfg_options=args.cfg_options)
    if args.checkpoint is None:
        print("no checkpoint given: exported the config's initial (random) weights")
    print('\n'.join(export_report(result)))
    return 0 if result.ok else 1


def test_and_save_metrics(runner, tool: str) -> dict:
    """``runner.test()``; its metrics as JSON-able numbers, written to
    WORK_DIR/metrics.json and printed (``<tool>: k=v, ...``) by rank 0."""
    import json
    metrics = {
        k: round(float(v), 4) if hasattr(v, '__float__') else v
        for k, v in runner.test().items()
    }  # numpy scalars -> JSON-able
    if runner.rank == 0:
        path = osp.join(runner.work_dir, 'metrics.json')
        with open(path, 'w') as f:
            json.dump(metrics, f, indent=1)
        print(f'{tool}: ' + ', '.join(f'{k}={v}'
                                      for k, v in metrics.items()) + f' (also in {path})')
    return metrics
