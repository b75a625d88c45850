"""Config preparation shared by tools/train.py and tools/test.py."""
import argparse
import logging
import os
import os.path as osp
import re
import sys
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from mmdla.utils.checks import ConfigInputError, check_config_inputs
from .distributed import setup_cpu_distributed

#: default scopes the tools can run (mmseg: segmentation, mmpretrain: classification)
SUPPORTED_SCOPES = ('mmseg', 'mmpretrain')


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """The arguments tools/train.py and tools/test.py share: --cfg-options, --launcher,
    --local-rank (torch.distributed.launch style)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(config: str, cfg_options: Optional[dict], launcher: str,
                work_dir: Optional[str]) -> Config:
    """Load ``config``, apply ``--cfg-options``, the launcher and the work dir
    (default ``work_dirs/<config name>``, as in mmseg / mmpretrain)."""
    if not osp.isfile(config):
        raise ConfigInputError(f"config file '{config}' does not exist")
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SUPPORTED_SCOPES:
        raise ConfigInputError(f"{config}: default_scope is {scope!r}; the mmdla tools run "
                               f'configs of {SUPPORTED_SCOPES}')
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def _uses_sync_bn(cfg) -> bool:
    if isinstance(cfg, dict):
        return cfg.get('type') == 'SyncBN' or any(_uses_sync_bn(v) for v in cfg.values())
    if isinstance(cfg, list):
        return any(_uses_sync_bn(v) for v in cfg)
    return False


def prepare_runner_config(cfg: Config, mode: str) -> Config:
    """Checks inputs (clear errors) and sets up CPU-only distributed runs."""
    check_config_inputs(cfg, mode)
    if cfg.launcher == 'none' and _uses_sync_bn(cfg.get('model')):
        print_log('The config uses SyncBN; this single-process run uses plain BatchNorm '
                  '(MMEngine reverts SyncBN when not distributed)', logger='current',
                  level=logging.WARNING)
    setup_cpu_distributed(cfg)
    return cfg


#: errors that describe a user's input (config, data, checkpoint), shown as one line
_INPUT_ERRORS = ('ConfigInputError', 'DataError', 'CheckpointMismatchError')
_IMAGE_ERROR = re.compile(r'failed to load image: (\S+)')


def input_error_message(exc: BaseException) -> Optional[str]:
    """The one-line message for an error caused by bad input, else None.

    Errors raised in DataLoader workers reach the main process re-wrapped with the worker's
    traceback in their text; the original message is its last line."""
    text = str(exc)
    if type(exc).__name__ in _INPUT_ERRORS:
        lines = [line for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines else text
        for name in _INPUT_ERRORS:
            last = re.sub(rf'^[\w.]*{name}: ', '', last)
        return last
    images = _IMAGE_ERROR.findall(text)  # the last: a worker traceback quotes the source
    if images:
        return (f'cannot read image {images[-1]}: the file is corrupt, truncated or not '
                'an image; replace or remove it')
    return None


def exit_on_input_error(func):
    """Run ``func``; an error caused by bad input becomes one line on stderr and exit 2."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            message = input_error_message(exc)
            if message is None:
                raise
            print(f'error: {message}', file=sys.stderr)
            sys.exit(2)
    return wrapper
