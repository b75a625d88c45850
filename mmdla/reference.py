"""Reference figures of Deep Layer Aggregation, written once for the whole project.

The tests check mmdla's models and configs against these numbers, the model-zoo generator
(``tools/analysis_tools/model_zoo.py``) writes them into the README, the metafiles and
``docs/reference.md``. Sources, cited by name:

* the paper: F. Yu, D. Wang, E. Shelhamer, T. Darrell, "Deep Layer Aggregation",
  CVPR 2018 (arXiv:1707.06484) - architecture, recipes, multi-scale test;
* the official code, github.com/ucbdrive/dla (``dla.py``, ``dla_up.py``, ``segment.py``,
  ``classify.py``) - exact layers, initialisation, released weights;
* timm, github.com/huggingface/pytorch-image-models (``timm/models/dla.py``) - the same
  networks without the official code's dead modules, and the top-1 of the released
  weights; also two DLAs with Res2Net blocks (S. Gao et al., "Res2Net: A New Multi-scale
  Backbone Architecture", TPAMI 2021; code github.com/gasvn/Res2Net), :data:`TIMM_EXTRA`.

Parameter counts were counted on the official and timm networks built with random
weights; "clean" is a network without the official code's never-used ``project``
modules (= timm = mmdla).
"""
from types import SimpleNamespace
from typing import Dict, NamedTuple, Optional, Tuple

__all__ = [
    'ImageNetFacts', 'IMAGENET', 'TimmFacts', 'TIMM_EXTRA', 'SegmentationFacts', 'DLA_UP',
    'OFFICIAL_WEIGHTS', 'FINE_GRAINED_CLASSES', 'IMAGENET_RECIPE', 'FINETUNE_RECIPE',
    'CITYSCAPES_RECIPE', 'CAMVID_RECIPE', 'TTA_SCALES', 'IMAGENET_MEAN', 'IMAGENET_STD',
    'CITYSCAPES_MEAN', 'CITYSCAPES_STD', 'PCA_EIGVAL', 'classifier_params', 'LEVEL_CHANNELS',
    'level_channels', 'conv_params', 'fpn_params', 'faster_rcnn_params', 'retinanet_params',
    'smoke_params', 'KITTI_MONO3D'
]


class ImageNetFacts(NamedTuple):
    """One ImageNet DLA: parameters of the official checkpoint (with its dead ``project``
    tensors and the 1000-class fc), of the clean classifier, of the backbone alone
    (clean minus fc); GMACs (conv + linear multiply-accumulates) at 224x224; ImageNet
    top-1 of the released official weights as timm evaluates them; the hash in the
    released file name ``{arch}-{hash}.pth``."""
    official_params: int
    params: int
    backbone_params: int
    gmacs: float
    top1: float
    weights_hash: str


IMAGENET: Dict[str, ImageNetFacts] = {
    'dla34': ImageNetFacts(15_783_832, 15_742_104, 15_229_104, 3.060, 74.63, 'ba72cf86'),
    'dla46_c': ImageNetFacts(1_309_848, 1_301_400, 1_044_400, 0.574, 64.88, '2bfd52c3'),
    'dla46x_c': ImageNetFacts(1_076_888, 1_068_440, 811_440, 0.533, 66.01, 'd761bae7'),
    'dla60x_c': ImageNetFacts(1_336_728, 1_319_832, 1_062_832, 0.581, 67.93, 'b870c45c'),
    'dla60': ImageNetFacts(22_334_104, 22_036_632, 21_011_632, 4.236, 77.04, '24839fc4'),
    'dla60x': ImageNetFacts(17_649_816, 17_352_344, 16_327_344, 3.517, 78.23, 'd15cacda'),
    'dla102': ImageNetFacts(33_731_736, 33_268_888, 32_243_888, 7.165, 78.02, 'd94d9790'),
    'dla102x': ImageNetFacts(26_772_120, 26_309_272, 25_284_272, 5.848, 78.52, 'ad62be81'),
    'dla102x2': ImageNetFacts(41_745_048, 41_282_200, 40_257_200, 9.284, 79.45, '262837b6'),
    'dla169': ImageNetFacts(53_989_016, 53_389_720, 52_364_720, 11.558, 78.70, '0914e092'),
}


class TimmFacts(NamedTuple):
    """A DLA that only timm publishes (no paper figure, no official checkpoint): parameters
    of timm's classifier with 1000 classes (= mmdla's DLA + a 1000-class linear head), of
    the backbone alone; GMACs (conv + linear) at 224x224. No top-1: timm's results tables
    are not part of its package."""
    params: int
    backbone_params: int
    gmacs: float


#: timm's ``dla60_res2net`` / ``dla60_res2next``: DLA-60's levels and channels with Res2Net
#: blocks (scale 4; base_width 28, 1 group / base_width 4, 8 groups). Apart from
#: :data:`IMAGENET`, whose archs each have a config and the paper's figures.
TIMM_EXTRA: Dict[str, TimmFacts] = {
    'dla60_res2net': TimmFacts(20_848_072, 19_823_072, 4.123),
    'dla60_res2next': TimmFacts(17_032_984, 16_007_984, 3.459),
}

#: where the official ImageNet weights were published: host and path, no longer served
#: (timm republishes the same tensors: hf-hub:timm/{arch}.in1k)
OFFICIAL_WEIGHTS = 'dl.yf.io/dla/models/imagenet/{arch}-{hash}.pth'


class SegmentationFacts(NamedTuple):
    """One DLA-Up segmentation network (``down_ratio`` 2): parameters of the official
    ``DLASeg`` with 19 classes (incl. the backbone's unused fc and dead ``project``
    tensors), of the clean network with 19 (Cityscapes) and 11 (CamVid) classes - the
    frozen bilinear x2 up-sampling's weights included; GMACs at 1024x2048 of the clean
    network (mmdla) and of the official one (which also runs the dead convs)."""
    official_params: int
    params_19: int
    params_11: int
    gmacs: float
    official_gmacs: Optional[float]


DLA_UP: Dict[str, SegmentationFacts] = {
    'dla34': SegmentationFacts(18_095_163, 17_540_435, 17_540_043, 228.1, 228.6),
    'dla60': SegmentationFacts(31_303_227, 29_980_755, 29_980_363, 457.2, None),
    'dla102': SegmentationFacts(42_700_859, 41_213_011, 41_212_619, 579.6, 585.0),
    'dla169': SegmentationFacts(62_958_139, 61_333_843, 61_333_451, 763.2, 770.0),
}


class DetectionFacts(NamedTuple):
    """CenterNet DLA-34 (ctdet, 80 COCO classes, ``head_conv`` 256, down_ratio 4): parameters
    of CenterNet's own network (checkpoint tensors, dead ``project`` convs included), of the
    clean network and of its parts (backbone, neck = ``dla_up`` + ``ida_up`` with DCNv2,
    heads ``hm`` + ``wh`` + ``reg``); released COCO val AP (no aug / flip / multi-scale
    0.5-1.5) of the 1x (140 epochs) and 2x (230 epochs) models."""
    official_params: int
    params: int
    backbone_params: int
    neck_params: int
    head_params: int
    ap_1x: Tuple[float, float, float]
    ap_2x: Tuple[float, float, float]


CENTERNET = DetectionFacts(19_675_892, 19_634_164, 15_229_104, 3_940_336, 464_724,
                           (36.3, 38.2, 40.7), (37.4, 39.2, 41.7))


def dcn_offset_params(in_channels: int) -> int:
    """Parameters of one deformable 3x3 conv's offset/mask conv (27 outputs) beyond the
    plain conv it generalises, for ``in_channels`` inputs."""
    return 27 * (9 * in_channels + 1)


def centernet_params(num_classes: int, use_dcn: bool = True) -> int:
    """Parameters of CenterNet DLA-34 (head_conv 256) for ``num_classes``; without DCN the
    neck's 16 deformable convs (proj / node of ida_0, ida_1 x2, ida_2 x3, ida_up x2) lose
    their offset convs."""
    params = CENTERNET.params - (80 - num_classes) * (256 + 1)  # the hm head's last conv
    if not use_dcn:
        inputs = (512, 256) + (256, 128) * 2 + (128, 64) * 3 + (128, 64, 256, 64)
        params -= sum(dcn_offset_params(c) for c in inputs)
    return params


#: channels of levels 0..5 (strides 1..32) of each ImageNet DLA (the paper's Table 1)
LEVEL_CHANNELS: Dict[str, Tuple[int, ...]] = {
    'dla34': (16, 32, 64, 128, 256, 512),
    'dla46_c': (16, 32, 64, 64, 128, 256),
    'dla46x_c': (16, 32, 64, 64, 128, 256),
    'dla60x_c': (16, 32, 64, 64, 128, 256),
    **{
        arch: (16, 32, 128, 256, 512, 1024)
        for arch in ('dla60', 'dla60x', 'dla102', 'dla102x', 'dla102x2', 'dla169')
    },
}


def level_channels(arch: str, levels: Tuple[int, ...] = (2, 3, 4, 5)) -> Tuple[int, ...]:
    """Channels of the DLA ``arch``'s ``levels`` (default 2..5: strides 4..32, what an FPN
    takes)."""
    return tuple(LEVEL_CHANNELS[arch][i] for i in levels)


def conv_params(in_channels: int, out_channels: int, kernel_size: int = 1, bias=True) -> int:
    """Parameters of a conv (or, with ``kernel_size`` 1, a linear layer)."""
    return out_channels * (in_channels * kernel_size**2 + int(bias))


def fpn_params(in_channels: Tuple[int, ...],
               out_channels: int = 256,
               start_level: int = 0,
               extra_convs_on_input: int = 0) -> int:
    """Parameters of mmdet's ``FPN``: a 1x1 lateral and a 3x3 output conv (with bias) per
    level from ``start_level``, and ``extra_convs_on_input`` strided 3x3 extra convs
    (``add_extra_convs='on_input'``: the first on the last input, the others on the
    previous output; none for max-pooled extra levels)."""
    used = in_channels[start_level:]
    params = sum(
        conv_params(c, out_channels) + conv_params(out_channels, out_channels, 3) for c in used)
    for i in range(extra_convs_on_input):
        params += conv_params(used[-1] if i == 0 else out_channels, out_channels, 3)
    return params


def faster_rcnn_params(arch: str,
                       num_classes: int = 80,
                       channels: int = 256,
                       num_anchors: int = 3,
                       roi_size: int = 7,
                       fc_channels: int = 1024) -> int:
    """Parameters of mmdet's Faster R-CNN + FPN (faster-rcnn_r50_fpn) on DLA ``arch``
    levels 2..5: the backbone (no classifier), FPN (``channels``), ``RPNHead`` (a 3x3 conv,
    1x1 objectness (sigmoid: 1 per anchor) and box convs) and ``Shared2FCBBoxHead`` (two
    fcs on the ``roi_size`` x ``roi_size`` RoI features, ``num_classes`` + 1 scores and
    class-specific boxes)."""
    rpn = (
        conv_params(channels, channels, 3) + conv_params(channels, num_anchors) +
        conv_params(channels, 4 * num_anchors))
    roi = (
        conv_params(channels * roi_size**2, fc_channels) + conv_params(fc_channels, fc_channels) +
        conv_params(fc_channels, num_classes + 1) + conv_params(fc_channels, 4 * num_classes))
    return (IMAGENET[arch].backbone_params + fpn_params(level_channels(arch), channels) + rpn + roi)


def retinanet_params(arch: str,
                     num_classes: int = 80,
                     channels: int = 256,
                     num_anchors: int = 9,
                     stacked_convs: int = 4) -> int:
    """Parameters of mmdet's RetinaNet (retinanet_r50_fpn) on DLA ``arch`` levels 2..5: the
    backbone (no classifier), FPN from level 3 (``start_level=1``) with two extra convs on
    the input, and ``RetinaHead`` (``stacked_convs`` 3x3 convs in each of the classification
    and box branches, then 3x3 convs to ``num_anchors`` x classes (sigmoid) and x 4)."""
    head = (2 * stacked_convs * conv_params(channels, channels, 3) +
            conv_params(channels, num_anchors * num_classes, 3) +
            conv_params(channels, num_anchors * 4, 3))
    fpn = fpn_params(level_channels(arch), channels, start_level=1, extra_convs_on_input=2)
    return IMAGENET[arch].backbone_params + fpn + head


#: CenterNet's COCO normalisation, of BGR 0-1 pixels (src/lib/datasets/dataset/coco.py)
CENTERNET_MEAN_BGR = (0.40789654, 0.44719302, 0.47026115)
CENTERNET_STD_BGR = (0.28863828, 0.27408164, 0.27809835)

#: classes of the fine-grained sets of the paper's Table 3 (mmpretrain dataset types)
FINE_GRAINED_CLASSES = {'cub': 200, 'cars': 196, 'aircraft': 100, 'food101': 101}

# Normalisation (official code): ImageNet statistics of 0-1 RGB pixels, and the
# Cityscapes statistics ``segment.py`` uses; configs scale them to 0-255.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CITYSCAPES_MEAN = (0.290101, 0.328081, 0.286964)
CITYSCAPES_STD = (0.182954, 0.186566, 0.184475)
#: eigenvalues of ImageNet's RGB covariance for PCA lighting, on the 0-255 scale
PCA_EIGVAL = (55.46, 4.794, 1.148)

#: official ImageNet training (``classify.py``): total batch 256
IMAGENET_RECIPE = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    batch_size=256,
    epochs=120,
    milestones=[30, 60, 90],
    gamma=0.1,
    crop=224,
    crop_area=(0.08, 1.0),
    aspect_ratio=(3 / 4, 4 / 3),
    lighting_std=0.1,
    test_resize=256)
#: fine-tuning on the fine-grained sets: the paper gives no schedule; this is mmdla's
#: choice (the ImageNet recipe with a 10x smaller lr, batch 64, 60 epochs)
FINETUNE_RECIPE = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    batch_size=64,
    epochs=60,
    milestones=[40, 55],
    gamma=0.1)
#: the paper's Cityscapes training (§4.4, official ``segment.py``)
CITYSCAPES_RECIPE = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    batch_size=16,
    epochs=500,
    poly_power=0.9,
    crop=832,
    scale_range=(0.5, 2.0),
    rotation=10,
    color_jitter=0.4,
    num_classes=19)
#: the paper's CamVid training: as Cityscapes but crop 448, 1200 epochs, lr x0.1 at 800
CAMVID_RECIPE = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    batch_size=16,
    epochs=1200,
    milestones=[800],
    gamma=0.1,
    crop=448,
    num_classes=11)
#: the paper's multi-scale test: per-scale log-softmax resized to the image and summed
TTA_SCALES: Tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5)


def classifier_params(arch: str, num_classes: int) -> int:
    """Parameters of DLA ``arch`` + global pooling + a linear ``num_classes`` head."""
    facts = IMAGENET[arch] if arch in IMAGENET else TIMM_EXTRA[arch]
    per_class = (facts.params - facts.backbone_params) // 1000  # fc: (C + 1) x 1000
    return facts.backbone_params + per_class * num_classes


def smoke_params(num_classes: int = 3, head_channels: int = 256, num_regs: int = 8) -> int:
    """Parameters of SMOKE with DLA-34 (mmdet3d's smoke_dla34_dlaneck_gn-all config, mmdla's
    modules): the backbone and CenterNet's deformable neck (GroupNorm has the affine
    parameters of BatchNorm) and ``SMOKEMono3DHead`` (a 3x3 conv + GN on the 64-channel
    stride-4 map, then a 1x1 conv, for the ``num_classes`` heatmaps and for the ``num_regs``
    box regressions). mmdet3d's own DLANet holds 41,728 more: the dead ``project`` convs."""
    branch = 9 * 64 * head_channels + 3 * head_channels  # conv weight + bias, GN affine
    head = 2 * branch + (head_channels + 1) * (num_classes + num_regs)
    return CENTERNET.backbone_params + CENTERNET.neck_params + head


#: the classes of mmdet3d's KITTI mono-3D configs (SMOKE), in their label order: the
#: ``METAINFO`` of converted SMOKE checkpoints (KittiDataset's own lists eight classes)
KITTI_MONO3D = SimpleNamespace(METAINFO=dict(classes=('Pedestrian', 'Cyclist', 'Car')))
