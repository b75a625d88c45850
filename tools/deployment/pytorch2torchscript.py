#!/usr/bin/env python
"""Export an mmdla classifier, segmentor or detector to TorchScript and check it.

    python tools/deployment/pytorch2torchscript.py CONFIG [CHECKPOINT] --out FILE.pt
        [--shape H [W]] [--batch N] [--check-shape H W] [--no-optimize]
        [--cfg-options KEY=VALUE ...]

``torch.jit.trace`` of the same model and outputs as ``pytorch2onnx.py`` (the model of
``mmdla.apis.init_model``; classifiers ``logits``, segmentors ``seg_logits`` at input size,
CenterNet detectors ``(heatmap, wh, offset)``), saved with ``torch.jit.save`` (metadata in
the archive's ``mmdla_meta.json``). Load it with ``torch.jit.load(FILE)``: no mmdla, mmcv or
OpenMMLab import needed. The traced module takes any batch and size >= 32 (the sizes are
traced, not fixed); the tool checks it at the traced input and at batch + 1 and a second
size (``--check-shape``, default H + 5, W + 3), printing per output the max abs and
relative difference (max|a-b| / max|b|) to PyTorch, the argmax agreement, the times and
the file size; exit 1 unless relative difference <= 1e-4 and agreement >= 99.9 %.
mmcv's deformable convs (CenterNet's DCNv2 neck) are traced as plain ops (``grid_sample`` +
a matrix product) and checked against mmcv's kernels.
Bad input -> one-line error, exit 2.
"""
import sys

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split

from mmdla.cli import exit_on_input_error, export_main


@exit_on_input_error
def main(argv=None) -> int:
    """Export, check, print the report; 0 if the check passes, 1 if not."""
    return export_main('torchscript', __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
