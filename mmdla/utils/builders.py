"""Build a config's model for analysis (complexity, benchmarks) without loading weights."""
import copy
import importlib

from mmengine.config import Config
from mmengine.registry import DefaultScope


def _strip_for_analysis(cfg):
    """Pretrained init_cfg entries removed (no checkpoint needed); SyncBN -> BN."""
    if isinstance(cfg, dict):
        out = {}
        for key, value in cfg.items():
            if key == 'init_cfg' and isinstance(value, dict) and value.get('type') == 'Pretrained':
                continue
            if key == 'norm_cfg' and isinstance(value, dict) and value.get('type') == 'SyncBN':
                value = dict(value, type='BN')
            out[key] = _strip_for_analysis(value)
        return type(cfg)(out)  # keep ConfigDict (mmseg reads test_cfg.mode)
    if isinstance(cfg, list):
        return [_strip_for_analysis(v) for v in cfg]
    return cfg


def build_model_from_config(config, for_analysis: bool = True):
    """Build ``config``'s model (a path or a Config) in its default scope, in eval mode.

    With ``for_analysis`` the model needs no checkpoint files and no distributed set-up
    (Pretrained init removed, SyncBN replaced by BN); the architecture is unchanged.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = cfg.get('default_scope', 'mmseg')
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg and isinstance(model_cfg, dict):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    if for_analysis:
        model_cfg = _strip_for_analysis(model_cfg)
    return build_in_scope(model_cfg, scope).eval()


def build_in_scope(cfg: dict, scope: str, registry: str = 'MODELS'):
    """``<registry>.build(cfg)`` (a model by default, ``'DATASETS'`` for a dataset) with the
    registry and default scope of library ``scope`` (mmseg, mmpretrain, mmdet), whatever the
    process' current default scope is."""
    registry = getattr(importlib.import_module(f'{scope}.registry'), registry)
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)
