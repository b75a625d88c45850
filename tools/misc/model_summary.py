#!/usr/bin/env python
"""Build every ImageNet DLA variant as an mmpretrain classifier and print its size and cost.

    python tools/misc/model_summary.py [--shape H W] [--archs dla34 dla60 ...]

For each arch: parameters of the backbone and of the whole classifier (1000 classes),
GMACs at the given input size, and the shapes of the six backbone levels.
"""
import argparse
import os.path as osp
import time

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import torch

from mmdla.cli import exit_on_input_error
from mmdla.models import DLA
from mmdla.utils import build_model_from_config, model_complexity

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='DLA model summary')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument(
        '--archs', nargs='+', default=list(DLA.arch_settings), choices=list(DLA.arch_settings))
    args = parser.parse_args(argv)
    h, w = args.shape
    print(f'{"arch":<10} {"backbone params":>16} {"classifier params":>18} '
          f'{"GMACs@" + f"{h}x{w}":>14}  level shapes (C, H, W)')
    start = time.time()
    for arch in args.archs:
        model = build_model_from_config(osp.join(CONFIGS, f'{arch}_imagenet.py'))
        cost = model_complexity(model, (3, h, w))
        backbone_params = sum(p.numel() for p in model.backbone.parameters())
        with torch.no_grad():
            levels = DLA(arch).eval()(torch.zeros(1, 3, h, w))
        shapes = ' '.join('x'.join(map(str, t.shape[1:])) for t in levels)
        print(f'{arch:<10} {backbone_params:>16,} {cost["params"]:>18,} '
              f'{cost["macs"] / 1e9:>14.3f}  {shapes}')
    print(f'built and measured {len(args.archs)} DLA variants in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
