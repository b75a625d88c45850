#!/usr/bin/env python
"""Convert an mmdla classifier, segmentor or detector to OpenVINO (fp32, bf16 or int8) and
check it against PyTorch.

    python tools/deployment/pytorch2openvino.py CONFIG [CHECKPOINT] --out DIR
        [--precision fp32|bf16|int8] [--calib-images N] [--shape H [W]] [--batch N]
        [--check-shape H W] [--no-optimize] [--cfg-options KEY=VALUE ...]

The model is ``mmdla.apis.init_model``'s, converted with ``openvino.convert_model`` from
PyTorch (no ONNX file) with the inputs and outputs of the ONNX export (normalised image
(N, 3, H, W) in; ``logits`` / ``seg_logits`` / ``heatmap``, ``wh``, ``offset`` out; batch,
height and width free; mmcv's deformable convs as plain ops) and saved as
``DIR/model.xml`` + ``model.bin`` (float32 weights; precision and metadata in its rt_info).

``--precision``: fp32 (default); bf16 (the same IR, run with OpenVINO's bf16 inference
precision: fast on CPUs with avx512_bf16 / AMX); int8 (NNCF post-training quantisation,
calibrated on ``--calib-images`` images of the config's val_dataloader, default 300 or all
it has).

The tool then runs the IR in OpenVINO (CPU) next to PyTorch on random inputs at
``--shape`` and at batch + 1 x a second size (``--check-shape``, default H + 5, W + 3) and
prints per output the max abs and relative difference and the argmax agreement; fp32 exits
1 unless relative difference <= 1e-4 and agreement >= 99.9 %, bf16 / int8 report them (their
accuracy on a dataset: ``tools/deployment/test_deployed.py``). Bad input (unknown config,
checkpoint of another model, openvino / nncf missing: ``pip install 'mmdla[openvino]'``)
-> one-line error, exit 2.
"""
import sys

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split

from mmdla.cli import exit_on_input_error, export_main


@exit_on_input_error
def main(argv=None) -> int:
    """Convert, check, print the report; 0 if the check passes, 1 if not."""
    return export_main('openvino', __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
