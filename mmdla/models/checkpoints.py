"""What mmdla knows about DLA checkpoint formats: the tensors of each arch (official and
timm layouts), telling the arch of a set of backbone tensors, and the strict
``Pretrained`` initialisation of :class:`~mmdla.models.DLA`.

The backbone module holds the model only; the converters
(:mod:`mmdla.models.converters`) and the backbone's ``init_cfg=dict(type='Pretrained',
...)`` use what is here.
"""
from functools import lru_cache
from typing import Dict, Mapping, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.registry import WEIGHT_INITIALIZERS

from mmdla.errors import CheckpointMismatchError
from mmdla.utils.state_dict import Mismatch, summarise
from .backbones.dla import DLA, Tree

__all__ = ['BN_TENSORS', 'arch_signature', 'detect_arch', 'load_pretrained', 'StrictPretrainedInit']

#: the tensors of a BatchNorm layer in a state dict
BN_TENSORS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


@lru_cache(maxsize=None)
def arch_signature(arch: str) -> Tuple[Dict[str, Tuple[int, ...]], Dict[str, Tuple[int, ...]]]:
    """(name -> shape of every backbone tensor, name -> shape of the dead ``project``
    tensors that official checkpoints of ``arch`` also hold).

    Built on the meta device: no memory, no initialisation.
    """
    with torch.device('meta'):
        model = DLA(arch, init_cfg=None)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    dead = {}
    for name, module in model.named_modules():
        if isinstance(module, Tree) and module.levels > 1 and (module.in_channels
                                                               != module.out_channels):
            cin, cout = module.in_channels, module.out_channels
            dead[f'{name}.project.0.weight'] = (cout, cin, 1, 1)
            for t in BN_TENSORS:
                dead[f'{name}.project.1.{t}'] = () if t == 'num_batches_tracked' else (cout, )
    return shapes, dead


def detect_arch(backbone: Mapping[str, torch.Tensor]) -> Tuple[str, str]:
    """(arch, source_format) of backbone tensors: 'official' when they hold the dead
    ``project`` tensors, else 'timm' (= mmdla). Raises :class:`CheckpointMismatchError`
    listing the missing / unexpected / mis-shaped tensors against the closest arch."""
    if 'base_layer.0.weight' not in backbone or not any(k.startswith('level5.') for k in backbone):
        raise CheckpointMismatchError(
            'not a DLA checkpoint: no base_layer.0.weight / level5.* tensors (found e.g. '
            f'{summarise(backbone, 5) or "no tensors"}). Expected an official ucbdrive/dla '
            'or a timm dla* ImageNet checkpoint.')
    report = []
    for arch in DLA.all_arch_settings():
        shapes, dead = arch_signature(arch)
        present_dead = set(dead) & set(backbone)
        mismatch = Mismatch.between({
            k: v
            for k, v in backbone.items() if k not in present_dead
        }, shapes)
        if not mismatch:
            if present_dead and present_dead != set(dead):
                raise CheckpointMismatchError(
                    f'{arch} checkpoint with only some of the official dead project '
                    f'tensors; missing: {summarise(set(dead) - present_dead)}')
            return arch, 'official' if present_dead else 'timm'
        report.append((mismatch.size, arch, mismatch))
    _, arch, mismatch = min(report, key=lambda r: r[0])
    raise CheckpointMismatchError(
        f'the checkpoint matches no DLA arch exactly; closest is {arch}: ' + mismatch.describe())


def load_pretrained(model: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location='cpu') -> None:
    """Load the tensors under ``prefix`` (e.g. 'backbone.') of ``checkpoint`` into the DLA
    ``model`` strictly; raise :class:`CheckpointMismatchError` naming what does not fit
    (and the arch the checkpoint holds). ``checkpoint`` is anything MMEngine's
    ``CheckpointLoader`` takes: a file in any layout mmdla reads, ``hf-hub:timm/dla34.in1k``,
    a URL. Without ``prefix``, a whole model's checkpoint (``backbone.*`` tensors, as the
    converted ImageNet weights) gives its backbone."""
    from mmengine.runner.checkpoint import _load_checkpoint
    loaded = _load_checkpoint(checkpoint, map_location=map_location)
    tensors = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else {}
    if not prefix and 'backbone.base_layer.0.weight' in tensors:
        prefix = 'backbone.'  # a whole model's checkpoint (e.g. a converted classifier)
    if prefix:
        state_dict = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    else:
        state_dict = dict(tensors)
    if not state_dict:
        raise CheckpointMismatchError(
            f"{checkpoint}: no tensors under prefix '{prefix}' (found e.g. "
            f'{summarise(tensors, 3)}); convert official or timm weights with '
            'python tools/model_converters/dla2mmdla.py SRC DST first')
    # GroupNorm layers (SMOKE's DLA) take the affine parameters of ImageNet BN layers, as
    # mmdet3d's loader does; BN's running statistics have no place there
    group_norms = {name for name, m in model.named_modules() if isinstance(m, nn.GroupNorm)}
    state_dict = {
        k: v
        for k, v in state_dict.items()
        if not (k.rpartition('.')[0] in group_norms and k.rpartition('.')[2] in BN_TENSORS[2:])
    }
    mismatch = Mismatch.between(state_dict, {k: v.shape for k, v in model.state_dict().items()})
    if mismatch:
        try:
            found = f'it holds a {detect_arch(state_dict)[0]} backbone'
        except CheckpointMismatchError:
            found = ("it is not one of the ten DLA backbones or timm's "
                     'dla60_res2net / dla60_res2next')
        raise CheckpointMismatchError(
            f"{checkpoint} (prefix '{prefix}') does not fit DLA arch '{model.arch}' ("
            f'{found}): ' + mismatch.describe())
    model.load_state_dict(state_dict, strict=True)


@WEIGHT_INITIALIZERS.register_module(name='StrictPretrained')
class StrictPretrainedInit:
    """``Pretrained`` for DLA: a strict load that names the missing / unexpected /
    mis-shaped tensors. MMEngine's own ``Pretrained`` loads non-strictly and only logs
    them, which would silently leave a wrong-arch or unconverted checkpoint half-loaded.
    ``DLA.init_weights`` builds it for ``init_cfg=dict(type='Pretrained', ...)``."""

    def __init__(self, checkpoint: str, prefix: Optional[str] = None, map_location: str = 'cpu'):
        self.checkpoint, self.prefix, self.map_location = checkpoint, prefix, map_location

    def __call__(self, module: nn.Module) -> None:
        load_pretrained(module, self.checkpoint, self.prefix, self.map_location)
