"""Parameter and MAC counting with MMEngine's complexity analysis."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config

from .builders import build_model_from_config

#: The ops whose multiply-accumulates GMACs tables (the paper's, timm's) count. MMEngine's
#: "flops" also count normalisation, pooling and interpolation element-wise; those are
#: left out here.
MAC_OPS = ('aten::_convolution', 'aten::addmm', 'aten::bmm', 'aten::einsum', 'aten::matmul',
           'aten::mm', 'aten::linear')


class _TensorForward(nn.Module):
    """Wrap an OpenMMLab model so that ``forward(x)`` is ``model(x, mode='tensor')``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x, mode='tensor')


def model_complexity(model: nn.Module, shape: Sequence[int] = (3, 224, 224)) -> Dict[str, int]:
    """``{'params': ..., 'macs': ...}`` of ``model`` for one input of ``shape`` (C, H, W).

    ``macs`` counts the multiply-accumulates of convolutions (incl. transposed) and linear
    layers, as GMACs tables do; BN, ReLU, pooling and additions are not counted.
    OpenMMLab models (BaseModel subclasses) are run with ``mode='tensor'``.
    """
    from mmengine.analysis import FlopAnalyzer
    from mmengine.analysis.complexity_analysis import _DEFAULT_SUPPORTED_FLOP_OPS
    from mmengine.model import BaseModel
    wrapped = _TensorForward(model) if isinstance(model, BaseModel) else model
    was_training = model.training
    inputs = (torch.zeros(1, *shape, device=next(model.parameters()).device), )
    try:
        analyzer = FlopAnalyzer(wrapped.eval(), inputs)
        # set_op_handle(op=None) does not drop a default handle in mmengine 0.10: rebuild.
        analyzer.clear_op_handles().set_op_handle(**{
            op: _DEFAULT_SUPPORTED_FLOP_OPS[op] for op in MAC_OPS})
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        macs = analyzer.total()
    finally:
        model.train(was_training)
    return {'params': sum(p.numel() for p in model.parameters()), 'macs': int(macs)}


#: default input (H, W) of each task for :func:`config_complexity`
DEFAULT_SHAPES = {'mmpretrain': (224, 224), 'mmseg': (1024, 2048)}


def config_complexity(config, shape: Optional[Sequence[int]] = None) -> dict:
    """``{'params', 'macs', 'shape'}`` of a config's model (a path or a Config) for one
    (3, H, W) input; ``shape`` defaults to 224x224 (classification) or 1024x2048
    (segmentation). No checkpoint is loaded; SyncBN is counted as BN."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    shape = tuple(shape or DEFAULT_SHAPES[cfg.get('default_scope', 'mmseg')])
    cost = model_complexity(build_model_from_config(cfg), (3, *shape))
    return dict(cost, shape=shape)
