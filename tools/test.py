#!/usr/bin/env python
"""Evaluate a checkpoint of a segmentation (mmseg), classification (mmpretrain) or detection
(mmdet) config.

    python tools/test.py CONFIG CHECKPOINT [--tta [--tta-flip]] [--out DIR_OR_FILE]
                         [--show] [--show-dir DIR] [--work-dir DIR]
                         [--no-optimize | --compile] [--amp]
                         [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm]

The model is built by ``mmdla.apis.init_model``: checkpoint loaded strictly, BN folded into
the convs, channels_last, SyncBN reverted (same predictions; ``--no-optimize`` tests the
plain model). ``--compile`` adds ``torch.compile``; ``--amp`` runs in mixed precision (GPU).

``--tta`` runs the config's ``tta_model`` on its ``tta_pipeline``; for the DLA segmentation
configs that is the paper's multi-scale test (scales 0.5, 0.75, 1, 1.25, 1.5; per-scale
log-softmax resized to the image and summed; no flip unless ``--tta-flip``).
``--out``: segmentation - a directory for the predicted label maps; classification and
detection - a pickle file of the predictions. ``--show-dir``: where to draw predictions.
"""
import argparse
import os.path as osp

import mmdla  # noqa: F401  (compat fixes + registration before anything else)

# isort: split

from mmdla.apis import init_model
from mmdla.cli import add_runner_args, exit_on_input_error, parse_runner_args, test_and_save_metrics
from mmdla.engine import (build_tta_model, load_config, prepare_runner_config, require_gpu_for_amp,
                          runner_with_model)
from mmdla.errors import ConfigInputError
from mmdla.libraries import library_of


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a DLA model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out',
        help='segmentation: directory for predicted label maps; '
        'classification: pickle file for predictions')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--show-dir', help='directory to save drawn predictions')
    parser.add_argument('--wait-time', type=float, default=2, help='--show interval (s)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation '
        "(the DLA paper's multi-scale test for segmentation configs)")
    parser.add_argument(
        '--tta-flip',
        action='store_true',
        help='with --tta: also sum over horizontally flipped views')
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument(
        '--no-optimize',
        action='store_true',
        help='test the plain model (no BN folding / inference optimisations)')
    speed.add_argument(
        '--compile',
        action='store_true',
        help='also torch.compile the network (first batches compile)')
    add_runner_args(parser)
    args = parse_runner_args(parser, argv)
    if args.tta_flip and not args.tta:
        parser.error('--tta-flip needs --tta')
    return args


def use_tta(cfg, flip: bool):
    """Replace the model by the config's TTA model and the test pipeline by tta_pipeline."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ConfigInputError('--tta needs tta_model and tta_pipeline in the config')
    pipeline = cfg.tta_pipeline
    if flip and library_of(cfg).task == 'detection':
        raise ConfigInputError('--tta-flip is for segmentation configs; the detection TTA '
                               "(CenterNet's) already includes the flip test")
    if flip:
        tta = next((t for t in pipeline if t['type'] == 'TestTimeAug'), None)
        if tta is None:
            raise ConfigInputError('--tta-flip needs a TestTimeAug step in tta_pipeline')
        tta['transforms'].insert(1, [
            dict(type='RandomFlip', prob=0., direction='horizontal'),
            dict(type='RandomFlip', prob=1., direction='horizontal')
        ])
    cfg.test_dataloader.dataset.pipeline = pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg.tta_model


def visualize(cfg, args):
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ConfigInputError('--show/--show-dir need default_hooks.visualization')
    task = library_of(cfg).task
    if task in ('segmentation', 'detection', 'mono3d'):
        hook['draw'] = True
        hook['interval'] = 1  # every image (the default draws one in 50)
        if args.show_dir and task == 'segmentation':
            cfg.visualizer['save_dir'] = args.show_dir
        elif args.show_dir:
            hook['test_out_dir'] = args.show_dir
    else:  # classification
        hook['enable'] = True
        if args.show_dir:
            hook['out_dir'] = args.show_dir
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time


def save_predictions(cfg, out):
    segmentation = library_of(cfg).task == 'segmentation'
    if segmentation and osp.isfile(out):
        raise ConfigInputError(f"--out '{out}' is a file; segmentation predictions are "
                               'written as label maps into a directory: give a directory')
    if not segmentation and osp.isdir(out):
        raise ConfigInputError(f"--out '{out}' is a directory; classification predictions "
                               'are written to one pickle file: give a file name (.pkl)')
    if segmentation:
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True
    else:
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, list) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=out)]


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    if args.amp:
        require_gpu_for_amp()
        cfg.test_cfg = dict(cfg.get('test_cfg') or dict(type='TestLoop'), fp16=True)
    cfg.load_from = args.checkpoint  # checked: exists (prepare_runner_config)
    prepare_runner_config(cfg, 'test')
    # strict load + inference optimisations; MMEngine's own load_from is not strict (and
    # would load unfused BN tensors into the optimised model): the Runner gets the model
    model = init_model(cfg, args.checkpoint, optimize=not args.no_optimize, compile=args.compile)
    cfg.load_from = None
    if args.show or args.show_dir:
        visualize(cfg, args)
    if args.tta:
        model = build_tta_model(cfg, use_tta(cfg, args.tta_flip), model)
    if args.out:
        save_predictions(cfg, args.out)
    runner = runner_with_model(cfg, model)
    return test_and_save_metrics(runner, 'test')


if __name__ == '__main__':
    main()
