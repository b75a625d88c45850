"""Inference models with every optimisation that keeps the outputs, applied by default.

:func:`init_model` is what ``tools/test.py``, the demo and Python users call: it builds the
model of any mmdla config (mmseg segmentor, mmpretrain classifier, mmdet detector), loads
the checkpoint strictly and returns it ready for inference - still the library's own model
class, so ``predict``, ``extract_feat``, ``decode_head`` and mmseg's / mmpretrain's
``inference_model`` work unchanged.
"""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from mmdla.engine.checks import check_checkpoint_fits, dataset_class_metainfo, load_checkpoint_any
from mmdla.engine.config import load_config
from mmdla.errors import ConfigInputError
from mmdla.libraries import library_of
from mmdla.models.layout import apply_memory_format
from mmdla.utils.builders import build_model_from_config

#: the sub-modules whose ``forward`` ``compile=True`` compiles (the tensor work of a
#: segmentor, classifier or detector; pre- and post-processing stay eager)
COMPILED_PARTS = ('backbone', 'neck', 'decode_head', 'auxiliary_head', 'head', 'bbox_head')


def _fuse_conv_bn(module: nn.Module) -> None:
    """Fold every eval-mode BN into the conv registered just before it (in place)."""
    from mmcv.cnn import fuse_conv_bn
    fuse_conv_bn(module)
    for m in module.modules():  # fusing builds new weights: restore each module's layout
        if isinstance(getattr(m, 'memory_format', None), torch.memory_format):
            apply_memory_format(m, m.memory_format)


def optimize_for_inference(model: nn.Module, compile: Union[bool, dict] = False) -> nn.Module:
    """Prepare ``model`` (weights loaded) for inference, in place, outputs unchanged:

    * eval mode; SyncBN reverted to BN (no process group needed);
    * every BN folded into the preceding conv (one op and one memory pass instead of two);
    * channels_last kept (the layout of each mmdla module, see :mod:`mmdla.models.layout`);
    * ``compile``: ``torch.compile`` the forward of the :data:`COMPILED_PARTS` it has (a
      dict is passed to ``torch.compile`` as options); the first call of each input size
      compiles.

    Returns ``model`` (the same object). After this the BN tensors are gone: load
    checkpoints before, not after.
    """
    from mmengine.model import revert_sync_batchnorm
    model.eval()
    for name, child in list(model.named_children()):  # revert in place (keeps `model`)
        setattr(model, name, revert_sync_batchnorm(child))
    _fuse_conv_bn(model)
    if compile:
        options = compile if isinstance(compile, dict) else {}
        for name in COMPILED_PARTS:
            part = getattr(model, name, None)
            if isinstance(part, nn.Module):
                part.forward = torch.compile(part.forward, **options)
    return model


def _dataset_meta(cfg: Config, checkpoint_meta: dict) -> dict:
    """Class names (and palette): saved in the checkpoint, else the config's test dataset's
    (its ``metainfo`` over the dataset class's ``METAINFO``)."""
    meta = (checkpoint_meta or {}).get('dataset_meta')
    if meta:
        return meta
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    meta = (
        dataset_class_metainfo(library_of(cfg).scope, dataset.get('type', '')) if dataset else {})
    override = dict(dataset.get('metainfo') or {})
    if 'classes' in override and len(meta.get('palette', ())) != len(override['classes']):
        meta.pop('palette', None)  # the class's palette is for its own classes
    meta.update(override)
    return meta


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None,
               optimize: bool = True,
               compile: Union[bool, dict] = False) -> nn.Module:
    """Build ``config``'s model, load ``checkpoint`` (strictly) and return it in eval mode
    on ``device``, optimised for inference (:func:`optimize_for_inference`) unless
    ``optimize=False``.

    Args:
        config: a config file or a loaded :class:`~mmengine.config.Config`.
        checkpoint: a checkpoint of this config's model: a file in any layout mmdla reads
            (mmdla / MMEngine, official, timm, CenterNet; converted in memory), a hub name
            (``hf-hub:timm/dla34.in1k``) or a hub file URL (:mod:`mmdla.models.hub`); None
            keeps the weights the model is built with (no ``Pretrained`` files are read).
        device: 'cpu', 'cuda', 'cuda:1' ...
        cfg_options: overrides, as ``--cfg-options``.
        optimize: apply the inference optimisations (default). They change no output
            beyond float rounding (tests check 1e-4 relative).
        compile: also ``torch.compile`` the network (see :func:`optimize_for_inference`).

    The model has ``cfg`` (the config) and ``dataset_meta`` (class names / palette from the
    checkpoint, else from the config's test dataset) as mmseg's and mmpretrain's inference
    APIs expect. It changes nothing outside the model: CPU scripts gain from also calling
    :func:`mmdla.utils.allocator.tune_cpu_allocator` once (a process-wide malloc setting
    the tools apply).

    Example:
        >>> import torch
        >>> from mmdla.apis import init_model
        >>> model = init_model('configs/dla34_imagenet.py')  # doctest: +SKIP
        >>> model(torch.rand(1, 3, 224, 224), mode='tensor').shape  # doctest: +SKIP
        torch.Size([1, 1000])
    """
    if isinstance(config, Config):
        cfg = config.copy()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    elif isinstance(config, str):
        cfg = load_config(config, cfg_options)
    else:
        raise ConfigInputError(f'config must be a config file path or a Config, got '
                               f'{type(config).__name__}')
    from mmengine.registry import init_default_scope
    init_default_scope(library_of(cfg).scope)  # as mmseg's / mmpretrain's
    device = torch.device(device)
    model = build_model_from_config(cfg)  # Pretrained init removed, SyncBN -> BN, eval
    meta = {}
    if checkpoint is not None:
        from mmengine.runner.checkpoint import _load_checkpoint_to_model
        loaded = load_checkpoint_any(checkpoint)
        check_checkpoint_fits(model, loaded, checkpoint)  # exactly this model's tensors
        _load_checkpoint_to_model(model, loaded, strict=True)
        meta = loaded.get('meta', {})
    model.cfg = cfg
    model.dataset_meta = _dataset_meta(cfg, meta)
    model.to(device)
    if optimize:
        optimize_for_inference(model, compile=compile)
    elif compile:
        raise ConfigInputError('compile=True needs optimize=True (the compiled model is the '
                               'optimised one)')
    return model
