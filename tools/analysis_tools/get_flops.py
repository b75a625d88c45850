#!/usr/bin/env python
"""Parameters and MACs of any config's model (MMEngine's complexity analysis).

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W]

Default shape: the task's complexity size of mmdla.libraries (224x224 classification,
1024x2048 segmentation, 512x512 detection).
MACs count convolutions (incl. transposed) and linear layers, as GMACs tables do; the
model is built without loading checkpoints (SyncBN counted as BN).
"""
import argparse
import os.path as osp

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
from mmdla.cli import exit_on_input_error
from mmdla.engine import load_config
from mmdla.utils import config_complexity


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and MACs of a config\'s model')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    args = parser.parse_args(argv)
    result = config_complexity(load_config(args.config), args.shape)
    h, w = result['shape']
    print(f'{osp.basename(args.config)}: input 3x{h}x{w}, params {result["params"]:,}, '
          f'GMACs {result["macs"] / 1e9:.3f}')
    return result


if __name__ == '__main__':
    main()
