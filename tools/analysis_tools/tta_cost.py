#!/usr/bin/env python
"""Cost of the multi-scale test (--tta) against its five single-scale inferences.

    python tools/analysis_tools/tta_cost.py CONFIG [--shape H W] [--repeats 5]

A random image (and an all-ignore label map) of the given size is run through the
config's ``tta_pipeline``; the time of the TTA model's ``test_step`` on those views is
compared with the sum, over the views, of the segmentor's ``test_step`` on each view alone
(each of which also resizes its prediction to the image), both on the model tools/test.py
runs (``init_model``'s optimisations). Prints both medians and their ratio; the TTA adds
only a log-softmax and a sum per view, so the ratio should be close to 1.
A measuring script: nothing is asserted.
"""
import argparse
import os.path as osp
import statistics
import tempfile
import time

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import cv2
import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

from mmdla.apis import optimize_for_inference
from mmdla.cli import exit_on_input_error
from mmdla.engine import build_tta_model, load_config
from mmdla.errors import ConfigInputError
from mmdla.libraries import library_of
from mmdla.utils import build_model_from_config
from mmdla.utils.allocator import tune_cpu_allocator


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='TTA cost vs single-scale inferences')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[256, 512], metavar=('H', 'W'))
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    task = library_of(cfg).task
    if task != 'segmentation':
        raise ConfigInputError(f'{args.config} is a {task} config: tta_cost.py measures the '
                               "segmentation multi-scale test (CenterNet's is tools/test.py "
                               '--tta)')
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ConfigInputError(f'{args.config} has no tta_model / tta_pipeline (a DLA '
                               'segmentation config has both)')
    tune_cpu_allocator()  # the default path of tools/test.py: init_model's optimisations
    segmentor = optimize_for_inference(build_model_from_config(cfg))
    tta = build_tta_model(cfg, cfg.tta_model, segmentor).eval()
    with DefaultScope.overwrite_default_scope('mmseg'):
        with tempfile.TemporaryDirectory() as tmp:
            h, w = args.shape
            cv2.imwrite(
                osp.join(tmp, 'img.png'),
                np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8))
            cv2.imwrite(osp.join(tmp, 'label.png'), np.full((h, w), 255, np.uint8))
            data = Compose(cfg.tta_pipeline)(
                dict(
                    img_path=osp.join(tmp, 'img.png'),
                    seg_map_path=osp.join(tmp, 'label.png'),
                    reduce_zero_label=False,
                    seg_fields=[]))
    batch = pseudo_collate([data])
    views = [
        dict(inputs=inputs, data_samples=samples)
        for inputs, samples in zip(batch['inputs'], batch['data_samples'])
    ]
    with torch.no_grad():
        tta_time = median_time(lambda: tta.test_step(batch), args.repeats)
        single = [median_time(lambda v=v: segmentor.test_step(v), args.repeats) for v in views]
    sizes = ', '.join('x'.join(map(str, v['inputs'][0].shape[-2:])) for v in views)
    print(f'{osp.basename(args.config)}: image {h}x{w}, {len(views)} views ({sizes})')
    print('single-scale test_step per view: ' + ', '.join(f'{t * 1e3:.1f}' for t in single) +
          f' ms; sum {sum(single) * 1e3:.1f} ms')
    print(f'TTA test_step: {tta_time * 1e3:.1f} ms; ratio to the sum: '
          f'{tta_time / sum(single):.3f}')
    return dict(tta=tta_time, single=single, ratio=tta_time / sum(single))


if __name__ == '__main__':
    main()
