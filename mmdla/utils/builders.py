"""Build a config's model in its library's scope, for inference (no weights loaded) or
exactly as the config says."""
import copy
import importlib

from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmdla.libraries import library_of


def _strip_training_setup(cfg):
    """Pretrained init_cfg entries removed (no checkpoint needed); SyncBN -> BN."""
    if isinstance(cfg, dict):
        out = {}
        for key, value in cfg.items():
            if key == 'init_cfg' and isinstance(value, dict) and value.get('type') == 'Pretrained':
                continue
            if key == 'norm_cfg' and isinstance(value, dict) and value.get('type') == 'SyncBN':
                value = dict(value, type='BN')
            out[key] = _strip_training_setup(value)
        return type(cfg)(out)  # keep ConfigDict (mmseg reads test_cfg.mode)
    if isinstance(cfg, list):
        return [_strip_training_setup(v) for v in cfg]
    return cfg


def build_model_from_config(config, for_inference: bool = True):
    """Build ``config``'s model (a path or a Config) in its default scope, in eval mode.

    ``for_inference`` (default): the inference build, the model
    :func:`mmdla.apis.init_model` loads a checkpoint into and the complexity and benchmark
    tools measure - it needs no checkpoint files and no process group (``Pretrained``
    init removed, SyncBN replaced by BN); the architecture is unchanged. ``False``: exactly
    the model the config describes (what MMEngine's Runner builds).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = library_of(cfg).scope
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg and isinstance(model_cfg, dict):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    if for_inference:
        model_cfg = _strip_training_setup(model_cfg)
    return build_in_scope(model_cfg, scope).eval()


def build_in_scope(cfg: dict, scope: str, registry: str = 'MODELS'):
    """``<registry>.build(cfg)`` (a model by default, ``'DATASETS'`` for a dataset) with the
    registry and default scope of library ``scope`` (mmseg, mmpretrain, mmdet), whatever the
    process' current default scope is."""
    registry = getattr(importlib.import_module(library_of(scope).registry), registry)
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)
