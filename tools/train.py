#!/usr/bin/env python
"""Train a segmentation (mmseg) or classification (mmpretrain) config with MMEngine.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp] [--compile]
                          [--auto-scale-lr] [--tensorboard] [--cfg-options KEY=VALUE ...]
                          [--launcher none|pytorch|slurm]

The DLA models train in the channels_last layout by default (their ``memory_format``);
``--compile`` adds ``torch.compile`` (MMEngine's ``compile=True``), ``--amp`` float16
mixed precision (AmpOptimWrapper, GPUs). ``--tensorboard`` also writes the logged scalars
(loss, lr, validation metrics) as a TensorBoard events file next to the json log
(``tensorboard --logdir WORK_DIR``).

The config's ``default_scope`` says which library it belongs to; both run through the same
MMEngine Runner. Multi-GPU: tools/dist_train.sh CONFIG NGPUS (torchrun); slurm:
tools/slurm_train.sh. On a machine without CUDA, distributed runs use gloo and plain BN.
"""
import argparse

import mmdla  # noqa: F401  (compat fixes + registration before anything else)

# isort: split
from mmengine.runner import Runner

from mmdla.cli import add_runner_args, exit_on_input_error, parse_runner_args
from mmdla.engine import load_config, prepare_runner_config, require_gpu_for_amp
from mmdla.errors import ConfigInputError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a DLA model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', action='store_true', help='resume from the latest checkpoint in the work dir')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the train step (the first iterations compile); the '
        "config's compile options (e.g. compile.backend, compile.mode) are kept")
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale lr linearly with the total batch size '
        '(auto_scale_lr.base_batch_size of the config)')
    add_runner_args(parser, tensorboard=True)
    args = parse_runner_args(parser, argv)
    return args


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    if args.amp:
        require_gpu_for_amp()
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.compile:
        cfg.compile = cfg.get('compile') or True  # (a dict: torch.compile's arguments)
    if args.resume:
        cfg.resume = True
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ConfigInputError('--auto-scale-lr needs auto_scale_lr.base_batch_size in '
                                   'the config')
        cfg.auto_scale_lr.enable = True
    prepare_runner_config(cfg, 'train', tensorboard=args.tensorboard)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
