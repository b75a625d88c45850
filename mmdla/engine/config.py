"""Loading and preparing configs for the runner (tools/train.py, tools/test.py, the
analysis and deployment tools, :func:`mmdla.apis.init_model`)."""
import importlib.util
import logging
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log

from mmdla.errors import ConfigInputError, MissingPackageError
from mmdla.libraries import LIBRARIES, library_of, require_installed
from mmdla.utils.allocator import tune_cpu_allocator
from mmdla.utils.builders import build_in_scope
from .checks import check_config_inputs, check_model_wiring
from .distributed import setup_cpu_distributed


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                work_dir: Optional[str] = None) -> Config:
    """Load ``config``, apply ``--cfg-options``, the launcher and the work dir
    (default ``work_dirs/<config name>``, as in mmseg / mmpretrain), then
    :func:`drop_persistent_workers_without_workers`; check that the model's heads fit its
    backbone (every tool needs a model that can be built)."""
    if not osp.isfile(config):
        what = 'is a directory' if osp.isdir(config) else 'does not exist'
        raise ConfigInputError(f"config file '{config}' {what}: give a configs/*.py file")
    try:
        cfg = Config.fromfile(config)
    except Exception as exc:  # the config's own Python, base files, {{ }} substitutions
        with open(config) as f:
            text = f.read()
        for library in LIBRARIES.values():  # e.g. _base_ = 'mmdet::...' without mmdet
            if f'{library.scope}::' in text and not library.installed():
                require_installed(library, f'{config} is a {library.scope} config')
        raise ConfigInputError(f"cannot parse config '{config}': {type(exc).__name__}: "
                               f'{str(exc).splitlines()[0]}') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    drop_persistent_workers_without_workers(cfg)
    try:
        library = library_of(cfg)
    except ConfigInputError as exc:
        raise ConfigInputError(f'{config}: {exc}') from None
    require_installed(library, f'{config} is a {library.scope} config')
    check_model_wiring(cfg.get('model') or {})
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


def add_tensorboard(cfg: Config) -> Config:
    """Add ``TensorboardVisBackend`` to the visualizer's ``vis_backends`` (in place), keeping
    the others (``LocalVisBackend`` writes the json logs analyze_logs.py reads)."""
    if importlib.util.find_spec('tensorboard') is None:
        raise MissingPackageError('--tensorboard needs the tensorboard package: '
                                  'pip install tensorboard')
    visualizer = cfg.get('visualizer')
    if visualizer is None:  # MMEngine's default visualizer, with TensorBoard
        visualizer = cfg.visualizer = dict(type='Visualizer', name='visualizer')
    backends = list(visualizer.get('vis_backends') or [dict(type='LocalVisBackend')])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer['vis_backends'] = backends
    return cfg


def drop_persistent_workers_without_workers(cfg: Config) -> Config:
    """``persistent_workers=True`` means nothing in a dataloader with ``num_workers=0``
    (e.g. ``--cfg-options train_dataloader.num_workers=0`` on a config of persistent
    workers), but PyTorch's DataLoader rejects the pair: set it False there (in place)."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if isinstance(loader,
                      dict) and loader.get('num_workers') == 0 and loader.get('persistent_workers'):
            loader['persistent_workers'] = False
    return cfg


def prepare_runner_config(cfg: Config, mode: str, tensorboard: bool = False) -> Config:
    """Checks inputs (clear errors), sets up CPU-only distributed runs and, on CPUs, the
    allocator setting of :mod:`mmdla.utils.allocator`; ``tensorboard``: see
    :func:`add_tensorboard`."""
    check_config_inputs(cfg, mode)
    if tensorboard:
        add_tensorboard(cfg)
    tune_cpu_allocator()
    if cfg.launcher == 'none' and _uses_sync_bn(cfg.get('model')):
        print_log(
            'The config uses SyncBN; this single-process run uses plain BatchNorm '
            '(MMEngine reverts SyncBN when not distributed)',
            logger='current',
            level=logging.WARNING)
    setup_cpu_distributed(cfg)
    return cfg


def require_gpu_for_amp() -> None:
    """``--amp``: float16 autocast, which MMEngine (AmpOptimWrapper) supports on GPUs only."""
    import torch
    if not torch.cuda.is_available():
        raise ConfigInputError('--amp (float16 mixed precision) needs a CUDA GPU; on CPUs the '
                               'default float32 path (channels_last, BN folded at test time) '
                               'is the fast one: drop --amp')


def build_tta_model(cfg: Config, tta_cfg: dict, module):
    """The config's TTA wrapper (e.g. ``DLASegTTAModel``) around an already built model."""
    tta_cfg = {k: v for k, v in tta_cfg.items() if k != 'module'}
    return build_in_scope(dict(tta_cfg, module=module), cfg.get('default_scope'))


def runner_with_model(cfg: Config, model):
    """``Runner.from_cfg(cfg)`` with ``model`` (built and loaded already, e.g. by
    :func:`mmdla.apis.init_model`) instead of building ``cfg.model`` again; the dumped
    config still describes the model. Set ``cfg.load_from = None`` first."""
    from mmengine.runner import Runner

    class _PrebuiltModelRunner(Runner):

        def build_model(self, model_cfg):
            return model

    return _PrebuiltModelRunner.from_cfg(cfg)
