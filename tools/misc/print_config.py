#!/usr/bin/env python
"""Print the final config a tool runs: base files merged, ``--cfg-options`` applied.

    python tools/misc/print_config.py CONFIG [--cfg-options KEY=VALUE ...] [--save FILE.py]

Loaded as tools/train.py and tools/test.py load it (``mmdla.engine.load_config``): mmseg,
mmpretrain and mmdet configs (``mmdet::`` bases resolved), the same checks (a config of a
library that is not installed, heads that do not fit the backbone: one ``error:`` line),
``work_dir`` defaulting to ``work_dirs/<config name>``. ``--save`` also writes it as a
config file that loads on its own (no ``_base_``).
"""
import argparse
import os.path as osp

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split

from mmdla.cli import add_cfg_options, exit_on_input_error
from mmdla.engine import load_config
from mmdla.errors import ConfigInputError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    add_cfg_options(parser, 'train_cfg.max_iters=10')
    parser.add_argument('--save', help='also write the final config to this .py file')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    """Returns the loaded Config."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save:
        if not args.save.endswith('.py'):
            raise ConfigInputError(f"--save '{args.save}': give a .py file name")
        if osp.abspath(args.save) == osp.abspath(args.config):
            raise ConfigInputError(f"--save '{args.save}' is CONFIG: write to another file")
        cfg.dump(args.save)
        print(f'saved {args.save}')
    return cfg


if __name__ == '__main__':
    main()
