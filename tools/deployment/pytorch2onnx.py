#!/usr/bin/env python
"""Export an mmdla classifier, segmentor or detector to ONNX and check it in onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out FILE.onnx
        [--shape H [W]] [--batch N] [--dynamic [--check-shape H W]] [--opset 17]
        [--exporter torchscript|dynamo] [--no-optimize] [--cfg-options KEY=VALUE ...]

The model is ``mmdla.apis.init_model``'s (BN folded into the convs, as every mmdla tool
infers). The file takes the normalised image (N, 3, H, W) (mean / std and RGB order of the
config's data preprocessor, stored in the file's metadata) and returns: classifiers
``logits`` (N, classes); segmentors ``seg_logits`` (N, classes, H, W); CenterNet detectors
``heatmap`` (after the sigmoid), ``wh``, ``offset`` at stride 4 (box decoding is not in the
graph). Detectors need the plain-conv neck (``model.neck.use_dcn=False``): mmcv's
deformable conv is not exportable.

After the export the file runs in onnxruntime (CPU) on a random input next to PyTorch; the
tool prints per output the max abs difference, the relative difference max|a-b| / max|b|
and the argmax agreement (classes per image / pixel / heatmap location), the export and
run times and the file size, and exits 1 unless relative difference <= 1e-4 and agreement
>= 99.9 %.

``--dynamic``: batch, height and width are free (any N, H, W >= 32, odd sizes included);
the file is also checked at batch + 1 and a second size (``--check-shape``, default
H + 5, W + 3). Without it the file takes only the traced input shape.
Bad input (unknown config, checkpoint of another model, deformable convs, sizes < 32,
onnx / onnxruntime missing: ``pip install 'mmdla[deploy]'``) -> one-line error, exit 2.
"""
import sys

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split

from mmdla.apis.export import check_shape, export_model
from mmdla.cli import exit_on_input_error, export_parser, export_report
from mmdla.errors import ConfigInputError, ShapeError
from mmdla.utils.allocator import tune_cpu_allocator


@exit_on_input_error
def main(argv=None) -> int:
    """Export, check, print the report; 0 if the check passes, 1 if not."""
    args = export_parser('onnx', __doc__).parse_args(argv)
    shape = None if args.shape is None else check_shape(args.shape, '--shape')
    other_shape = (None
                   if args.check_shape is None else check_shape(args.check_shape, '--check-shape'))
    if other_shape is not None and not getattr(args, 'dynamic', True):
        raise ConfigInputError('--check-shape checks a dynamic file: add --dynamic')
    if args.batch < 1:
        raise ShapeError(f'--batch must be >= 1, got {args.batch}')
    tune_cpu_allocator()
    result = export_model(
        args.config,
        args.checkpoint,
        'onnx',
        args.out,
        shape,
        batch=args.batch,
        dynamic=getattr(args, 'dynamic', True),
        other_shape=other_shape,
        opset=getattr(args, 'opset', None),
        exporter=getattr(args, 'exporter', 'torchscript'),
        optimize=not args.no_optimize,
        cfg_options=args.cfg_options)
    if args.checkpoint is None:
        print("no checkpoint given: exported the config's initial (random) weights")
    print('\n'.join(export_report(result)))
    return 0 if result.ok else 1


if __name__ == '__main__':
    sys.exit(main())
