#!/usr/bin/env python
"""Parameters and MACs of any config's model (MMEngine's complexity analysis).

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W]

Default shape: 224x224 for classification configs, 1024x2048 for segmentation configs.
MACs count convolutions (incl. transposed) and linear layers, as GMACs tables do; the
model is built without loading checkpoints (SyncBN counted as BN).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmdla  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402

from mmdla.utils import build_model_from_config, model_complexity  # noqa: E402

DEFAULT_SHAPES = {'mmpretrain': (224, 224), 'mmseg': (1024, 2048)}


def get_flops(config: str, shape=None) -> dict:
    """{'params', 'macs', 'shape'} of ``config``'s model for one (3, H, W) input."""
    cfg = Config.fromfile(config)
    shape = tuple(shape or DEFAULT_SHAPES[cfg.get('default_scope', 'mmseg')])
    cost = model_complexity(build_model_from_config(cfg), (3, *shape))
    return dict(cost, shape=shape)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and MACs of a config\'s model')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    args = parser.parse_args(argv)
    result = get_flops(args.config, args.shape)
    h, w = result['shape']
    print(f'{osp.basename(args.config)}: input 3x{h}x{w}, params {result["params"]:,}, '
          f'GMACs {result["macs"] / 1e9:.3f}')
    return result


if __name__ == '__main__':
    main()
