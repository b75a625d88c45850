"""Deep Layer Aggregation backbone (Yu, Wang, Shelhamer, Darrell, CVPR 2018).

The network is a stem, two plain conv levels and four *trees* (HDA) whose aggregation nodes
("roots") merge the children of a tree; the levels are joined by iterative deep aggregation
(IDA) by passing the down-sampled input of a level (``level_root``) into its root.

Module and parameter names follow the official implementation (ucbdrive/dla) so that its
state dicts - and timm's, which use the same names - map onto this model one to one, with
two deliberate differences from the official code:

* The official ``Tree`` builds a ``project`` (1x1 conv + BN) for trees of depth > 1 whose
  output is discarded. It wastes compute and leaves parameters without gradients, which
  breaks DDP without ``find_unused_parameters``. It is not built here (as in timm);
  ``tools/model_converters/dla2mmdla.py`` drops those tensors
  (:func:`mmdla.models.checkpoints.arch_signature`).
* The official down-sampling ``MaxPool2d(2, 2)`` floors odd sizes while the strided 3x3
  convs round up, so inputs not divisible by 32 crash. ``ceil_mode=True`` makes both round
  up; for even sizes it is exactly the same operation, so multiples of 32 give identical
  numbers.

Besides the paper's ten archs (:attr:`DLA.arch_settings`), timm's two DLAs with Res2Net
blocks (Gao et al., "Res2Net: A New Multi-scale Backbone Architecture", TPAMI 2021) are
built by :class:`Bottle2neck` (:attr:`DLA.timm_arch_settings`); their timm checkpoints load
with the same key mapping as the other archs.
"""
import difflib
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import WEIGHT_INITIALIZERS
from torch.nn.modules.batchnorm import _BatchNorm

from mmdla.errors import ArchError, ShapeError
from mmdla.models.layout import apply_memory_format, memory_format_of
from mmdla.registry import MODELS

NUM_LEVELS = 6


def _norm(norm_cfg: dict, num_features: int) -> nn.Module:
    if norm_cfg.get('type') == 'GN' and num_features % norm_cfg.get('num_groups', 1):
        # NOTE: GroupNorm groups that do not divide the channels (32 on DLA-34's 16-channel
        # stem and level0) become their gcd (16 there), as in mmdet3d's DLANet for SMOKE.
        norm_cfg = dict(norm_cfg, num_groups=math.gcd(num_features, norm_cfg['num_groups']))
    return build_norm_layer(norm_cfg, num_features)[1]


def _conv(in_channels, out_channels, kernel_size, stride=1, groups=1, conv_cfg=None):
    """A bias-free conv with 'same' padding (every conv of the DLA backbone is one)."""
    return build_conv_layer(
        conv_cfg,
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=(kernel_size - 1) // 2,
        groups=groups,
        bias=False)


class _CheckpointedBlock(BaseModule):
    """Residual block base: ``forward(x, residual=None)``; ``residual`` defaults to ``x``.

    Subclasses implement ``_residual_branch(x)``. With ``with_cp=True`` the branch is
    recomputed in the backward pass (activation checkpointing) to save memory.
    """

    def __init__(self, with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp = with_cp
        self.relu = nn.ReLU(inplace=True)

    def _residual_branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None):
        if residual is None:
            residual = x
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual_branch, x, use_reentrant=False)
        else:
            out = self._residual_branch(x)
        out += residual
        return self.relu(out)


class BasicBlock(_CheckpointedBlock):
    """conv3x3(stride)-BN-ReLU-conv3x3-BN (+residual) ReLU. (N, Cin, H, W) ->
    (N, Cout, ceil(H/s), ceil(W/s))."""

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 cardinality=1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 with_cp=False,
                 init_cfg=None):
        super().__init__(with_cp, init_cfg)
        if cardinality != 1:
            raise ArchError('BasicBlock has no groups: use cardinality=1 with '
                            "block='basic'")
        self.conv1 = _conv(in_channels, out_channels, 3, stride, conv_cfg=conv_cfg)
        self.bn1 = _norm(norm_cfg, out_channels)
        self.conv2 = _conv(out_channels, out_channels, 3, conv_cfg=conv_cfg)
        self.bn2 = _norm(norm_cfg, out_channels)

    def _residual_branch(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(_CheckpointedBlock):
    """conv1x1-BN-ReLU, conv3x3(stride, groups)-BN-ReLU, conv1x1-BN (+residual) ReLU.

    The bottleneck width is ``out_channels // 2`` (expansion 2, the official ``Bottleneck``).
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 cardinality=1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 with_cp=False,
                 init_cfg=None):
        super().__init__(with_cp, init_cfg)
        mid_channels = self.mid_channels(out_channels, cardinality)
        self.conv1 = _conv(in_channels, mid_channels, 1, conv_cfg=conv_cfg)
        self.bn1 = _norm(norm_cfg, mid_channels)
        self.conv2 = _conv(
            mid_channels, mid_channels, 3, stride, groups=cardinality, conv_cfg=conv_cfg)
        self.bn2 = _norm(norm_cfg, mid_channels)
        self.conv3 = _conv(mid_channels, out_channels, 1, conv_cfg=conv_cfg)
        self.bn3 = _norm(norm_cfg, out_channels)

    @staticmethod
    def mid_channels(out_channels: int, cardinality: int) -> int:
        return out_channels // 2

    def _residual_branch(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


class BottleneckX(Bottleneck):
    """ResNeXt bottleneck: width ``out_channels * cardinality // 32``, grouped 3x3 conv.

    ``cardinality`` is a constructor argument (32 for DLA-X, 64 for dla102x2); the official
    code sets it on the class instead, which changes every block built afterwards.
    """

    @staticmethod
    def mid_channels(out_channels: int, cardinality: int) -> int:
        return out_channels * cardinality // 32


class Bottle2neck(_CheckpointedBlock):
    """Res2Net bottleneck (timm's ``DlaBottle2neck``): multi-scale 3x3 convs on splits.

    conv1x1-BN-ReLU to ``scale`` splits of ``width`` channels (``width`` =
    ``(out_channels * base_width // 64) * cardinality // 2``). Split ``i < scale - 1`` goes
    through its own conv3x3(stride, groups=cardinality)-BN-ReLU, after adding the previous
    split's output (hierarchical residual connections); the last split is passed on as is.
    With ``stride > 1`` there are no hierarchical additions (the splits differ in size from
    the outputs) and the last split is average-pooled (3x3, ``stride``, padding 1) instead.
    The concatenated splits go through conv1x1-BN (+residual) ReLU.

    Tensor names are timm's (``conv1``, ``bn1``, ``convs.i``, ``bns.i``, ``conv3``, ``bn3``).
    Shapes: (N, in_channels, H, W) -> (N, out_channels, ceil(H/s), ceil(W/s)).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 cardinality: int = 1,
                 base_width: int = 64,
                 scale: int = 4,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(with_cp, init_cfg)
        width = self.mid_channels(out_channels, cardinality, base_width)
        self.width = width
        self.scale = scale
        self.stride = stride
        self.conv1 = _conv(in_channels, width * scale, 1, conv_cfg=conv_cfg)
        self.bn1 = _norm(norm_cfg, width * scale)
        num_convs = max(1, scale - 1)  # scale 1: one conv on the single split
        self.convs = nn.ModuleList(
            _conv(width, width, 3, stride, groups=cardinality, conv_cfg=conv_cfg)
            for _ in range(num_convs))
        self.bns = nn.ModuleList(_norm(norm_cfg, width) for _ in range(num_convs))
        # count_include_pad (the default) as timm: border pixels average in the zero padding
        self.pool = (nn.AvgPool2d(3, stride, padding=1) if stride > 1 and scale > 1 else None)
        self.conv3 = _conv(width * scale, out_channels, 1, conv_cfg=conv_cfg)
        self.bn3 = _norm(norm_cfg, out_channels)

    @staticmethod
    def mid_channels(out_channels: int, cardinality: int, base_width: int = 64) -> int:
        """Channels of one split (timm: ``floor(out * base_width / 64) * cardinality // 2``;
        integer arithmetic here, the same for every width timm builds)."""
        return out_channels * base_width // 64 * cardinality // 2

    def _residual_branch(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        splits = torch.split(out, self.width, 1)
        outs = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            sp = splits[i] if i == 0 or self.stride > 1 else outs[-1] + splits[i]
            outs.append(self.relu(bn(conv(sp))))
        if self.scale > 1:
            outs.append(splits[-1] if self.pool is None else self.pool(splits[-1]))
        return self.bn3(self.conv3(torch.cat(outs, 1)))


BLOCKS = {
    'basic': BasicBlock,
    'bottleneck': Bottleneck,
    'bottleneckx': BottleneckX,
    'bottle2neck': Bottle2neck
}
#: block arguments beyond ``cardinality`` that an arch may set, per block type
BLOCK_ARGS = {'bottle2neck': dict(base_width=64, scale=4)}  # timm's DLA defaults


class Root(BaseModule):
    """Aggregation node: ReLU(BN(conv1x1(concat(inputs))) [+ inputs[0]]).

    Args:
        in_channels: sum of the channels of all inputs.
        out_channels: output channels (= channels of ``inputs[0]`` if ``residual``).
        residual: add the first input (the deeper models' residual root).
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 residual=False,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 init_cfg=None):
        super().__init__(init_cfg)
        self.conv = _conv(in_channels, out_channels, 1, conv_cfg=conv_cfg)
        self.bn = _norm(norm_cfg, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.bn(self.conv(torch.cat(inputs, 1)))
        if self.residual:
            out += inputs[0]
        return self.relu(out)


class Tree(BaseModule):
    """Hierarchical deep aggregation tree of ``2 ** levels`` blocks.

    ``levels == 1``: two blocks and a root merging ``[tree2 out, tree1 out, *children]``.
    ``levels > 1``: two sub-trees of depth ``levels - 1``; the first sub-tree's output is
    routed into the second one's root (the tree has no root of its own).

    Args:
        levels: depth of the tree.
        block: block class (:class:`BasicBlock`, :class:`Bottleneck`, :class:`BottleneckX`,
            :class:`Bottle2neck`).
        in_channels / out_channels: channels in and out.
        stride: down-sampling of the tree (first block strided, max-pooled residual).
        level_root: feed the down-sampled tree input into the root (IDA across levels).
        root_dim: input channels of the root (0: ``2 * out_channels``).
        residual_root: residual connection in the roots.
        block_kwargs: cardinality / with_cp (and base_width / scale of
            :class:`Bottle2neck`) for the blocks.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self,
                 levels: int,
                 block: type,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 level_root: bool = False,
                 root_dim: int = 0,
                 residual_root: bool = False,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 init_cfg=None,
                 **block_kwargs):
        super().__init__(init_cfg)
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        self.levels = levels
        self.level_root = level_root
        self.in_channels = in_channels
        self.out_channels = out_channels
        # The down-sampled input feeds the residual (levels == 1) and the root (level_root);
        # a deeper tree without level_root needs none. ceil_mode: match the strided convs
        # on odd sizes; identical on even sizes.
        needs_bottom = levels == 1 or level_root
        self.downsample = (
            nn.MaxPool2d(stride, stride, ceil_mode=True) if stride > 1 and needs_bottom else None)
        layer_cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if levels == 1:
            self.tree1 = block(in_channels, out_channels, stride, **layer_cfg, **block_kwargs)
            self.tree2 = block(out_channels, out_channels, 1, **layer_cfg, **block_kwargs)
            self.root = Root(root_dim, out_channels, residual_root, **layer_cfg)
            self.project = (
                nn.Sequential(
                    _conv(in_channels, out_channels, 1, conv_cfg=conv_cfg),
                    _norm(norm_cfg, out_channels)) if in_channels != out_channels else None)
        else:
            tree_cfg = dict(residual_root=residual_root, **layer_cfg, **block_kwargs)
            self.tree1 = Tree(
                levels - 1, block, in_channels, out_channels, stride, root_dim=0, **tree_cfg)
            self.tree2 = Tree(
                levels - 1,
                block,
                out_channels,
                out_channels,
                1,
                root_dim=root_dim + out_channels,
                **tree_cfg)

    def forward(self,
                x: torch.Tensor,
                children: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        children = [] if children is None else children
        if self.levels == 1 or self.level_root:
            bottom = x if self.downsample is None else self.downsample(x)
            if self.level_root:
                children.append(bottom)
        if self.levels == 1:
            residual = bottom if self.project is None else self.project(bottom)
            x1 = self.tree1(x, residual)
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children)


def parse_arch(arch: Union[str, dict]) -> dict:
    """Look up / validate an arch name or a custom arch dict; return a complete dict."""
    if isinstance(arch, str):
        archs = DLA.all_arch_settings()
        if arch not in archs:
            close = difflib.get_close_matches(arch, archs, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ''
            raise ArchError(f"Unknown DLA arch '{arch}'.{hint} Valid archs: "
                            f"{', '.join(archs)}; or pass a dict with keys "
                            'levels, channels, block, residual_root, cardinality (and '
                            "base_width, scale for block 'bottle2neck').")
        return dict(archs[arch])
    if not isinstance(arch, dict):
        raise ArchError(f'arch must be a str or a dict, got {type(arch).__name__}')
    required = {'levels', 'channels', 'block'}
    block_args = BLOCK_ARGS.get(arch['block'], {}) if isinstance(arch.get('block'), str) else {}
    allowed = required | {'residual_root', 'cardinality'} | set(block_args)
    if not required <= set(arch) or not set(arch) <= allowed:
        extra = {k for a in BLOCK_ARGS.values() for k in a} & set(arch) - allowed
        hint = (f" ({', '.join(sorted(extra))}: only with block "
                f"{', '.join(repr(b) for b in BLOCK_ARGS)})" if extra else '')
        raise ArchError(f'A custom DLA arch dict needs keys {sorted(required)} and may have '
                        f"{sorted(allowed - required)}; got {sorted(arch)}{hint}")
    spec = {'residual_root': False, 'cardinality': 1, **block_args, **arch}
    for key in block_args:
        if not (isinstance(spec[key], int) and spec[key] > 0):
            raise ArchError(f'arch[{key!r}] must be a positive int, got {spec[key]!r}')
    for key in ('levels', 'channels'):
        value = spec[key]
        if (len(value) != NUM_LEVELS or not all(isinstance(v, int) and v > 0 for v in value)):
            raise ArchError(f'arch[{key!r}] must be {NUM_LEVELS} positive ints (one per '
                            f'level0..level5), got {value!r}')
        spec[key] = tuple(value)
    if spec['block'] not in BLOCKS:
        raise ArchError(f"arch['block'] must be one of {sorted(BLOCKS)}, got "
                        f"{spec['block']!r}")
    block, cardinality = BLOCKS[spec['block']], spec['cardinality']
    width_args = {k: spec[k] for k in ('base_width', ) if k in spec}
    if block is not BasicBlock:
        for c in spec['channels'][2:]:  # the tree levels
            mid = block.mid_channels(c, cardinality, **width_args)
            if mid == 0 or mid % cardinality:
                raise ArchError(
                    f"arch: {spec['block']} with cardinality {cardinality} and {c} channels "
                    f'has a bottleneck width of {mid}, which must be a positive multiple of '
                    'the cardinality; change channels or cardinality (or base_width)')
    return spec


def check_indices(name: str, indices: Sequence[int]) -> Tuple[int, ...]:
    if isinstance(indices, int):
        indices = (indices, )
    if len(indices) == 0 or not all(
            isinstance(i, int) and -NUM_LEVELS <= i < NUM_LEVELS for i in indices):
        raise ArchError(f'{name} must be a non-empty sequence of level indices in '
                        f'0..{NUM_LEVELS - 1} (level i has stride 2**i), got {indices!r}')
    normalized = sorted({i % NUM_LEVELS for i in indices})
    return tuple(normalized)


@MODELS.register_module()
class DLA(BaseModule):
    """DLA backbone for MMPretrain and MMSegmentation.

    Args:
        arch (str | dict): one of :attr:`arch_settings` (the paper's ten) or
            :attr:`timm_arch_settings` (``dla60_res2net``, ``dla60_res2next``), or a dict
            with ``levels`` and ``channels`` (6 ints each), ``block`` ('basic' |
            'bottleneck' | 'bottleneckx' | 'bottle2neck'), optional ``residual_root``
            (bool) and ``cardinality`` (int); 'bottle2neck' also takes ``base_width``
            (64) and ``scale`` (4), see :class:`Bottle2neck`.
        in_channels (int): input image channels. Default 3.
        out_indices (Sequence[int]): levels to output; level ``i`` has stride ``2 ** i`` and
            ``arch['channels'][i]`` channels. Default all six.
        frozen_stages (int): ``-1`` freezes nothing; ``k >= 0`` freezes the stem
            (``base_layer``) and ``level0`` .. ``level{k}`` (weights and BN statistics).
        conv_cfg (dict | None): conv layer config. Default None (nn.Conv2d).
        norm_cfg (dict): norm layer config, e.g. ``dict(type='SyncBN')``.
        norm_eval (bool): keep all BN layers in eval mode during training.
        with_cp (bool): activation checkpointing in every block (less memory; each block's
            forward runs twice in training).
        memory_format (str): 'channels_last' (default: NHWC weights and activations, the
            fast layout of oneDNN and cuDNN) or 'contiguous' (NCHW). Same numbers.
        init_cfg (dict | list | None): None (default) is the official initialisation
            (conv ~ N(0, sqrt(2 / (k * k * out_channels))), BN weight 1 / bias 0). Use
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` for weights
            converted by ``tools/model_converters/dla2mmdla.py``.

    Input (N, in_channels, H, W) with H, W >= 32 (any size); output: a tuple with, for each
    ``i`` in ``out_indices``, a tensor (N, channels[i], ceil(H / 2**i), ceil(W / 2**i)).

    Example:
        >>> import torch
        >>> from mmdla.models import DLA
        >>> model = DLA('dla34', out_indices=(2, 3, 4, 5)).eval()
        >>> for level in model(torch.rand(1, 3, 97, 131)):
        ...     print(tuple(level.shape))
        (1, 64, 25, 33)
        (1, 128, 13, 17)
        (1, 256, 7, 9)
        (1, 512, 4, 5)
    """

    # One table for the ten ImageNet DLAs of the paper (Table 1 / ucbdrive/dla `dla.py`).
    arch_settings: Dict[str, dict] = {
        name:
        dict(
            levels=levels,
            channels=channels,
            block=block,
            residual_root=res_root,
            cardinality=cardinality)
        for name, levels, channels, block, res_root, cardinality in [
            ('dla34', (1, 1, 1, 2, 2, 1), (16, 32, 64, 128, 256, 512), 'basic', False, 1),
            ('dla46_c', (1, 1, 1, 2, 2, 1), (16, 32, 64, 64, 128, 256), 'bottleneck', False, 1),
            ('dla46x_c', (1, 1, 1, 2, 2, 1), (16, 32, 64, 64, 128, 256), 'bottleneckx', False, 32),
            ('dla60x_c', (1, 1, 1, 2, 3, 1), (16, 32, 64, 64, 128, 256), 'bottleneckx', False, 32),
            ('dla60', (1, 1, 1, 2, 3, 1), (16, 32, 128, 256, 512, 1024), 'bottleneck', False, 1),
            ('dla60x', (1, 1, 1, 2, 3, 1), (16, 32, 128, 256, 512, 1024), 'bottleneckx', False, 32),
            ('dla102', (1, 1, 1, 3, 4, 1), (16, 32, 128, 256, 512, 1024), 'bottleneck', True, 1),
            ('dla102x', (1, 1, 1, 3, 4, 1), (16, 32, 128, 256, 512, 1024), 'bottleneckx', True, 32),
            ('dla102x2', (1, 1, 1, 3, 4, 1), (16, 32, 128, 256, 512, 1024), 'bottleneckx', True,
             64),
            ('dla169', (1, 1, 2, 3, 5, 1), (16, 32, 128, 256, 512, 1024), 'bottleneck', True, 1),
        ]
    }
    # The DLAs timm adds with Res2Net blocks (timm ``dla60_res2net`` / ``dla60_res2next``,
    # from gasvn/Res2Net). Kept apart from arch_settings: each of the paper's ten has a
    # config and paper figures (model zoo, configs tests); these two have timm weights only.
    timm_arch_settings: Dict[str, dict] = {
        name:
        dict(
            levels=(1, 1, 1, 2, 3, 1),
            channels=(16, 32, 128, 256, 512, 1024),
            block='bottle2neck',
            residual_root=False,
            cardinality=cardinality,
            base_width=base_width,
            scale=4)
        for name, cardinality, base_width in [('dla60_res2net', 1, 28), ('dla60_res2next', 8, 4)]
    }

    @classmethod
    def all_arch_settings(cls) -> Dict[str, dict]:
        """Every named arch: the paper's ten, then timm's Res2Net DLAs."""
        return {**cls.arch_settings, **cls.timm_arch_settings}

    def __init__(self,
                 arch: Union[str, dict] = 'dla34',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3, 4, 5),
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 memory_format: str = 'channels_last',
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:  # as mmseg's ResNet: None means the default (official) init
            init_cfg = [
                dict(
                    type='Kaiming',
                    layer='Conv2d',
                    mode='fan_out',
                    nonlinearity='relu',
                    distribution='normal'),
                dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        spec = parse_arch(arch)
        self.arch = arch if isinstance(arch, str) else 'custom'
        self.levels = spec['levels']
        self.channels = spec['channels']
        self.in_channels = in_channels
        self.out_indices = check_indices('out_indices', out_indices)
        if not (isinstance(frozen_stages, int) and -1 <= frozen_stages < NUM_LEVELS):
            raise ArchError(f'frozen_stages must be an int in -1..{NUM_LEVELS - 1} (-1: '
                            f'nothing frozen; k: stem and level0..level k), got '
                            f'{frozen_stages!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        channels, levels = self.channels, self.levels
        layer_cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.base_layer = nn.Sequential(
            _conv(in_channels, channels[0], 7, conv_cfg=conv_cfg), _norm(norm_cfg, channels[0]),
            nn.ReLU(inplace=True))
        self.level0 = self._make_conv_level(channels[0], channels[0], levels[0], 1, **layer_cfg)
        self.level1 = self._make_conv_level(channels[0], channels[1], levels[1], 2, **layer_cfg)
        block = BLOCKS[spec['block']]
        block_args = {k: spec[k] for k in BLOCK_ARGS.get(spec['block'], {})}
        for i in range(2, NUM_LEVELS):
            tree = Tree(
                levels[i],
                block,
                channels[i - 1],
                channels[i],
                stride=2,
                level_root=i > 2,
                residual_root=spec['residual_root'],
                cardinality=spec['cardinality'],
                with_cp=with_cp,
                **layer_cfg,
                **block_args)
            self.add_module(f'level{i}', tree)
        self.memory_format = memory_format_of(memory_format)
        apply_memory_format(self, self.memory_format)
        self._freeze_stages()

    @staticmethod
    def _make_conv_level(in_channels, out_channels, num_convs, stride, conv_cfg, norm_cfg):
        """``num_convs`` x (conv3x3-BN-ReLU), the first one strided."""
        modules = []
        for i in range(num_convs):
            modules += [
                _conv(in_channels, out_channels, 3, stride if i == 0 else 1, conv_cfg=conv_cfg),
                _norm(norm_cfg, out_channels),
                nn.ReLU(inplace=True)
            ]
            in_channels = out_channels
        return nn.Sequential(*modules)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of the outputs, in ``out_indices`` order."""
        return tuple(self.channels[i] for i in self.out_indices)

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.base_layer
                ] + [getattr(self, f'level{i}') for i in range(self.frozen_stages + 1)]

    def _freeze_stages(self):
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f'DLA expects input (N, {self.in_channels}, H, W) (in_channels='
                             f'{self.in_channels}), got shape {tuple(x.shape)}')
        x = self.base_layer(x.contiguous(memory_format=self.memory_format))
        outs = []
        last = self.out_indices[-1]
        for i in range(last + 1):  # levels beyond the last requested one are not run
            x = getattr(self, f'level{i}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def init_weights(self):
        """Official init, or - for ``init_cfg=dict(type='Pretrained', ...)`` - a strict load
        that names the missing / unexpected / mis-shaped tensors (MMEngine's own
        ``Pretrained`` loads non-strictly and only logs them, which would silently leave
        a wrong-arch or unconverted checkpoint half-loaded)."""
        init = self.init_cfg
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            # by name: the initializer (mmdla.models.checkpoints) knows checkpoint formats
            WEIGHT_INITIALIZERS.build(dict(init, type='StrictPretrained'))(self)
            self._is_init = True
            return
        super().init_weights()

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
