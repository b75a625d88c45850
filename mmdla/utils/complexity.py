"""Parameter and MAC counting with MMEngine's complexity analysis."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config

from mmdla.libraries import IMAGE_TASKS, library_of
from .builders import build_model_from_config

#: The ops whose multiply-accumulates GMACs tables (the paper's, timm's) count. MMEngine's
#: "flops" also count normalisation, pooling and interpolation element-wise; those are
#: left out here.
MAC_OPS = ('aten::_convolution', 'aten::addmm', 'aten::bmm', 'aten::einsum', 'aten::matmul',
           'aten::mm', 'aten::linear')

#: mmcv's DCNv2 as it appears in a traced graph
DCN_OP = 'prim::PythonOp.ModulatedDeformConv2dFunction'


def _dcn_macs(inputs, outputs) -> int:
    """MACs of mmcv's modulated deformable conv: those of the dense conv it generalises
    (output elements x input channels per group x kernel taps), as CenterNet's tables
    count them; its offset / mask conv is an ordinary conv, counted on its own."""
    from mmengine.analysis.jit_handles import get_shape
    weight = get_shape(inputs[3])  # (input, offset, mask, weight, bias, ...)
    out = get_shape(outputs[0])
    out_channels, in_per_group, kh, kw = weight
    return int(out[0] * out[1] * out[2] * out[3] * in_per_group * kh * kw)


class _TensorForward(nn.Module):
    """Wrap an OpenMMLab model so that ``forward(x)`` is ``model(x, mode='tensor')``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x, mode='tensor')


def model_complexity(model: nn.Module, shape: Sequence[int] = (3, 224, 224)) -> Dict[str, int]:
    """``{'params': ..., 'macs': ...}`` of ``model`` for one input of ``shape`` (C, H, W).

    ``macs`` counts the multiply-accumulates of convolutions (incl. transposed and mmcv's
    deformable ones, see :func:`_dcn_macs`) and linear layers, as GMACs tables do; BN,
    ReLU, pooling, additions and the deformable convs' bilinear sampling are not counted.
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
        analyzer.clear_op_handles().set_op_handle(
            **{op: _DEFAULT_SUPPORTED_FLOP_OPS[op]
               for op in MAC_OPS}, **{DCN_OP: _dcn_macs})
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        macs = analyzer.total()
    finally:
        model.train(was_training)
    return {'params': sum(p.numel() for p in model.parameters()), 'macs': int(macs)}


def config_complexity(config, shape: Optional[Sequence[int]] = None) -> dict:
    """``{'params', 'macs', 'shape'}`` of a config's model (a path or a Config) for one
    (3, H, W) input; ``shape`` defaults to the task's complexity size in
    :data:`mmdla.libraries.LIBRARIES` (224x224 classification, 1024x2048 segmentation,
    512x512 detection). No checkpoint is loaded; SyncBN is counted as BN."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    shape = tuple(shape or library_of(cfg, 'get_flops.py', IMAGE_TASKS).shapes['complexity'])
    cost = model_complexity(build_model_from_config(cfg), (3, *shape))
    return dict(cost, shape=shape)
