#!/usr/bin/env python
"""Evaluate an exported model (ONNX or OpenVINO) on the config's test set with the config's
metrics (mIoU / top-1 / COCO mAP), as tools/test.py evaluates a checkpoint.

    python tools/deployment/test_deployed.py CONFIG MODEL [--precision fp32|bf16]
        [--work-dir DIR] [--cfg-options KEY=VALUE ...]

MODEL: a ``.onnx`` file (pytorch2onnx.py; run in onnxruntime) or an OpenVINO IR
(pytorch2openvino.py: its ``--out`` directory or ``model.xml``; run at the precision it was
saved with, or ``--precision``). The config's data preprocessor and the model's
post-processing run in PyTorch (``mmdla.apis.deployed``), the network in the runtime; the
metrics are printed and written to WORK_DIR/metrics.json. Whole-image inference, no
test-time augmentation.
"""
import argparse

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split

from mmdla.apis import init_model
from mmdla.apis.deployed import DeployedModel, load_runner
from mmdla.cli import add_cfg_options, exit_on_input_error, test_and_save_metrics
from mmdla.engine import load_config, prepare_runner_config, runner_with_model
from mmdla.libraries import IMAGE_TASKS, library_of


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('model', help='.onnx file, or OpenVINO directory / .xml')
    parser.add_argument(
        '--precision',
        choices=['fp32', 'bf16'],
        help='OpenVINO: run at this precision instead of the saved one')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    add_cfg_options(parser, 'test_dataloader.batch_size=1')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, 'none', args.work_dir)
    library_of(cfg, 'test_deployed.py', IMAGE_TASKS)
    runner_fn = load_runner(args.model, args.precision)
    cfg.load_from = None
    prepare_runner_config(cfg, 'test')
    model = DeployedModel(init_model(cfg), runner_fn, library_of(cfg).task)
    runner = runner_with_model(cfg, model)
    return test_and_save_metrics(runner, 'test_deployed')


if __name__ == '__main__':
    main()
