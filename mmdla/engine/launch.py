"""Config preparation shared by tools/train.py and tools/test.py."""
import os.path as osp
import sys
from typing import Optional

from mmengine.config import Config

from mmdla.utils.checks import ConfigInputError, check_config_inputs
from .distributed import setup_cpu_distributed

#: default scopes the tools can run (mmseg: segmentation, mmpretrain: classification)
SUPPORTED_SCOPES = ('mmseg', 'mmpretrain')


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


def prepare_runner_config(cfg: Config, mode: str) -> Config:
    """Checks inputs (clear errors) and sets up CPU-only distributed runs."""
    check_config_inputs(cfg, mode)
    setup_cpu_distributed(cfg)
    return cfg


def exit_on_input_error(func):
    """Run ``func``; a :class:`ConfigInputError` becomes one line on stderr and exit 2."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ConfigInputError as exc:
            print(f'error: {exc}', file=sys.stderr)
            sys.exit(2)
    return wrapper
