"""Parameter and MAC counting with MMEngine's complexity analysis."""
from typing import Dict, Sequence

import torch
import torch.nn as nn

#: The ops whose multiply-accumulates GMACs tables (the paper's, timm's,
#: ../shared/spec/dla.md) count. MMEngine's "flops" also count normalisation, pooling and
#: interpolation element-wise; those are left out here.
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
