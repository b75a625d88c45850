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
graph). mmcv's deformable convs (CenterNet's DCNv2 neck) are exported as plain ops
(``grid_sample`` + a matrix product, mmdla's ``PortableModulatedDeformConv2dPack``) and
checked against mmcv's kernels.

After the export the file runs in onnxruntime (CPU) on a random input next to PyTorch; the
tool prints per output the max abs difference, the relative difference max|a-b| / max|b|
and the argmax agreement (classes per image / pixel / heatmap location), the export and
run times and the file size, and exits 1 unless relative difference <= 1e-4 and agreement
>= 99.9 %.

``--dynamic``: batch, height and width are free (any N, H, W >= 32, odd sizes included);
the file is also checked at batch + 1 and a second size (``--check-shape``, default
H + 5, W + 3). Without it the file takes only the traced input shape.
Bad input (unknown config, checkpoint of another model, other custom ops, sizes < 32,
onnx / onnxruntime missing: ``pip install 'mmdla[deploy]'``) -> one-line error, exit 2.
"""
import sys

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split

from mmdla.cli import exit_on_input_error, export_main


@exit_on_input_error
def main(argv=None) -> int:
    """Export, check, print the report; 0 if the check passes, 1 if not."""
    return export_main('onnx', __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
