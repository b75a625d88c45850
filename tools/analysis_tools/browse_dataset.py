#!/usr/bin/env python
"""Draw what the training pipeline feeds the model: the augmented images with their labels.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR [--not-show]
                          [--max N] [--show-interval S] [--cfg-options KEY=VALUE ...]

Each sample of ``train_dataloader.dataset`` goes through the config's training pipeline
(random crops, flips, rotation, colour jitter ... as in training) and is drawn by its
library's visualizer: segmentation (mmseg) - the label map in the dataset's palette over
the image (opacity 0.5, ignored pixels dark) with the class names; classification
(mmpretrain) - the image (short side at least 224 px) with its class name; detection
(mmdet) - the boxes with their class names. ``--output-dir`` gets one PNG per sample,
``NNNN_<image name>.png`` in dataset order; ``--not-show`` skips the window (without a
display the tool only writes the PNGs). ``--max N``: only the first N samples.
"""
import argparse
import importlib
import itertools
import os
import os.path as osp

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
from mmengine.registry import DefaultScope

from mmdla.cli import add_cfg_options, exit_on_input_error
from mmdla.engine import load_config
from mmdla.engine.checks import check_data
from mmdla.errors import ConfigInputError
from mmdla.libraries import IMAGE_TASKS, Library, library_of
from mmdla.utils import build_in_scope

SEG_OPACITY = 0.5  # mmseg's 0.8 hides the augmented image
CLS_MIN_SIZE = 224  # small classification images are enlarged so the label is readable
_count = itertools.count()


def can_show() -> bool:
    """Whether matplotlib (the visualizers' window) has an interactive backend: without a
    display it falls back to 'agg', where MMEngine's show would wait for a key forever."""
    import matplotlib.pyplot as plt
    return plt.get_backend().lower() not in ('agg', 'cairo', 'pdf', 'pgf', 'ps', 'svg', 'template')


def build_visualizer(library: Library, dataset_meta: dict):
    """A fresh visualizer of the library (no storage backends: files are written here)."""
    registry = importlib.import_module(library.registry).VISUALIZERS
    kwargs = dict(alpha=SEG_OPACITY) if library.task == 'segmentation' else {}
    with DefaultScope.overwrite_default_scope(library.scope):
        visualizer = registry.get(library.visualizer).get_instance(
            f'browse_dataset_{os.getpid()}_{next(_count)}', **kwargs)
    visualizer.dataset_meta = dataset_meta
    return visualizer


def draw(visualizer, task: str, name: str, image, data_sample, out_file, show: bool,
         wait_time: float) -> None:
    """Draw one sample's ground truth on ``image`` (RGB uint8, H x W x 3)."""
    if task == 'classification':
        short = min(image.shape[:2])
        visualizer.visualize_cls(
            image,
            data_sample,
            draw_gt=True,
            draw_pred=False,
            resize=CLS_MIN_SIZE if short < CLS_MIN_SIZE else None,
            show=show,
            wait_time=wait_time,
            out_file=out_file,
            name=name)
        return
    if task == 'detection':  # mmdet's own browse_dataset: box structures -> tensors
        from mmdet.structures.bbox import BaseBoxes
        instances = data_sample.gt_instances
        if isinstance(instances.get('bboxes'), BaseBoxes):
            instances.bboxes = instances.bboxes.tensor
        data_sample.gt_instances = instances
    visualizer.add_datasample(
        name,
        image,
        data_sample,
        draw_gt=True,
        draw_pred=False,
        show=show,
        wait_time=wait_time,
        out_file=out_file)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the training pipeline\'s output')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--output-dir', help='directory for the drawn PNGs')
    parser.add_argument('--not-show', action='store_true', help='do not open a window')
    parser.add_argument('--max', type=int, help='draw only the first N samples')
    parser.add_argument(
        '--show-interval', type=float, default=2, help='seconds per image in the window')
    add_cfg_options(parser, 'train_dataloader.dataset.data_root=DIR')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    """Returns one dict per drawn sample: file (or None), image (RGB, what was drawn on),
    data_sample (its labels after the pipeline)."""
    args = parse_args(argv)
    if args.not_show and not args.output_dir:
        raise ConfigInputError('--not-show without --output-dir draws nothing: give '
                               '--output-dir DIR')
    if args.max is not None and args.max < 1:
        raise ConfigInputError(f'--max {args.max}: give a positive number of samples')
    show = not args.not_show
    if show and not can_show():
        if not args.output_dir:
            raise ConfigInputError('no display to show the samples on (matplotlib backend '
                                   "'agg'): use --output-dir DIR --not-show")
        print('no display: writing the PNGs only (add --not-show to skip this check)')
        show = False
    cfg = load_config(args.config, args.cfg_options)
    library = library_of(cfg, 'browse_dataset.py', IMAGE_TASKS)
    scope = library.scope
    check_data(cfg, ['train_dataloader'])  # missing data: one line naming the key and fix
    dataset = build_in_scope(cfg.train_dataloader.dataset, scope, 'DATASETS')
    visualizer = build_visualizer(library, dataset.metainfo)
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    count = len(dataset) if args.max is None else min(args.max, len(dataset))
    drawn = []
    with DefaultScope.overwrite_default_scope(scope):
        for i in range(count):
            item = dataset[i]
            image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1].copy()  # BGR -> RGB
            data_sample = item['data_samples'].numpy()
            stem = osp.splitext(osp.basename(data_sample.img_path))[0]
            out_file = (
                osp.join(args.output_dir, f'{i:04d}_{stem}.png') if args.output_dir else None)
            draw(visualizer, library.task, stem, image, data_sample, out_file, show,
                 args.show_interval)
            drawn.append(dict(file=out_file, image=image, data_sample=data_sample))
    where = f' into {args.output_dir}' if args.output_dir else ''
    print(f'drew {len(drawn)} of {len(dataset)} training samples of {args.config}{where}')
    return drawn


if __name__ == '__main__':
    main()
