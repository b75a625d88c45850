"""Small bugs a wider test would miss: boundary values one off, crops on the wrong side,
branches taken in only one memory layout, CenterNet's flip test.

Every expected value is computed independently of the code under test: by hand (integer
arithmetic, index formulas), with plain torch ops on the module's own tensors
(F.conv2d / F.batch_norm / F.conv_transpose2d, in float64 on contiguous tensors) or with
timm's DLA (in float64) as the backbone reference.
"""
import copy
import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from mmdla.errors import DataError
from mmdla.models import DLA
from mmdla.utils import build_model_from_config
from tests.helpers import ROOT, build_config_model, official_dlaup_plan, random_bn, random_timm_dla

LAYOUTS = {'channels_last': torch.channels_last, 'contiguous': torch.contiguous_format}
#: float32 vs the float64 reference through DLA-34 (random BN statistics): timm's own float32
#: forward is 1.4e-5 off at level 5, so the deep levels get 5e-5 (a wrong value is >1e-2 off)
DEEP_RTOL = 5e-5


def relative_error(ours, ref):
    """max |ours - ref| / max |ref|, in float64."""
    ours, ref = ours.double(), ref.double()
    return ((ours - ref).abs().max() / ref.abs().max()).item()


def in_layout(x, layout):
    out = x.contiguous(memory_format=LAYOUTS[layout])
    if layout == 'channels_last' and x.dim() == 4 and x.shape[1] > 1:
        assert not out.is_contiguous()  # (really NHWC: the branch under test is taken)
    return out


def randomise_(module, transposed_scale=0.5):
    """Random weights for every conv (N(0, 1/fan_in)), transposed conv (U(0, scale): no
    longer the symmetric bilinear kernel, so a crop on the wrong side shows) and BN
    (affine and running statistics, :func:`tests.helpers.random_bn`), loaded in place
    (the module keeps its layout). Returns the state dict."""
    sd = dict(module.state_dict())
    for name, m in module.named_modules():
        if isinstance(m, _BatchNorm):
            random_bn(sd, name, m.num_features)
        elif isinstance(m, nn.ConvTranspose2d):
            sd[f'{name}.weight'] = torch.rand(m.weight.shape) * transposed_scale
        elif isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            sd[f'{name}.weight'] = torch.randn(m.weight.shape) / fan_in**0.5
            if m.bias is not None:
                sd[f'{name}.bias'] = torch.randn(m.bias.shape) * 0.1
    module.load_state_dict(sd)
    return {k: v.clone() for k, v in sd.items()}


def as_reference(sd):
    """float64 contiguous copies of a state dict's tensors."""
    return {k: v.double().contiguous() for k, v in sd.items()}


# -- plain-torch references --------------------------------------------------------------------


def ref_bn(x, sd, prefix):
    return F.batch_norm(x, sd[f'{prefix}.running_mean'], sd[f'{prefix}.running_var'],
                        sd[f'{prefix}.weight'], sd[f'{prefix}.bias'], False, 0.0, 1e-5)


def ref_up(x, weight):
    """Depthwise transposed conv of factor f (kernel 2f, stride f, padding f // 2)."""
    f = weight.shape[-1] // 2
    return F.conv_transpose2d(x, weight, stride=f, padding=f // 2, groups=weight.shape[0])


def ref_dla_up_head(sd, layers, channels, size):
    """The official DLASeg decoder (ucbdrive/dla ``DLAUp`` + ``fc`` + ``up``) on float64
    tensors, every up-sampled map cropped to its top-left ``(h, w)`` of the map it meets
    and the logits to the top-left ``size``."""
    layers = list(layers)
    for i, (out_dim, in_chs, factors) in enumerate(official_dlaup_plan(channels)):
        p = f'dla_up.ida_{i}'
        inputs = layers[-i - 2:]
        h, w = inputs[0].shape[-2:]
        ups = []
        for k, (t, c, f) in enumerate(zip(inputs, in_chs, factors)):
            if c != out_dim:  # projection (identity when the channels match)
                t = F.relu(ref_bn(F.conv2d(t, sd[f'{p}.proj_{k}.0.weight']), sd, f'{p}.proj_{k}.1'))
            if f != 1:
                t = ref_up(t, sd[f'{p}.up_{k}.weight'])
            ups.append(t[:, :, :h, :w])
        x, ys = ups[0], []
        for k in range(1, len(ups)):
            weight = sd[f'{p}.node_{k}.0.weight']
            x = F.conv2d(torch.cat([x, ups[k]], 1), weight, padding=weight.shape[-1] // 2)
            x = F.relu(ref_bn(x, sd, f'{p}.node_{k}.1'))
            ys.append(x)
        layers[-i - 1:] = ys
    logits = F.conv2d(x, sd['conv_seg.weight'], sd['conv_seg.bias'])
    return ref_up(logits, sd['up.weight'])[:, :, :size[0], :size[1]]


def ref_centernet_neck(sd, layers):
    """CenterNet's ``DLAUp(startp=2)`` + ``IDAUp`` (pose_dla_dcn.py) with plain 3x3 convs
    (``use_dcn=False``) on float64 tensors, up-sampled maps cropped top-left."""

    def conv_bn_relu(t, p):
        t = F.conv2d(t, sd[f'{p}.conv.weight'], sd[f'{p}.conv.bias'], padding=1)
        return F.relu(ref_bn(t, sd, f'{p}.actf.0'))

    def ida_up(layers, startp, endp, p):  # in place, as CenterNet's IDAUp
        h, w = layers[startp].shape[-2:]
        for i in range(startp + 1, endp):
            k = i - startp
            up = ref_up(conv_bn_relu(layers[i], f'{p}.proj_{k}'), sd[f'{p}.up_{k}.weight'])
            layers[i] = conv_bn_relu(up[:, :, :h, :w] + layers[i - 1], f'{p}.node_{k}')

    layers = list(layers)
    out = [layers[-1]]
    for i in range(len(layers) - 1):
        ida_up(layers, len(layers) - i - 2, len(layers), f'dla_up.ida_{i}')
        out.insert(0, layers[-1])
    y = out[:3]
    ida_up(y, 0, 3, 'ida_up')
    return y[-1]


def timm_features(timm_model, x):
    """The six level outputs of timm's DLA (strides 1..32)."""
    x = timm_model.base_layer(x)
    outs = []
    for i in range(6):
        x = getattr(timm_model, f'level{i}')(x)
        outs.append(x)
    return outs


@pytest.fixture(scope='module')
def timm_dla34():
    """timm's DLA-34 with random weights and random BN statistics (eval), in float64, and its
    float32 tensors (without the classifier) for mmdla's DLA."""
    torch.manual_seed(0)
    model = random_timm_dla('dla34')
    sd = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith('fc.')}
    return model.double(), sd  # (state dict taken in float32 first)


# -- 1a. label values one past the last class -------------------------------------------------


def write_label(tmp_path, value, num_pixels=(6, 7)):
    label = np.zeros(num_pixels, dtype=np.uint8)
    label[2, 3] = value
    path = tmp_path / f'label_{value}.png'
    cv2.imwrite(str(path), label)
    return path


@pytest.mark.parametrize('num_classes', [4, 19, 255])
def test_label_loading_accepts_last_class_and_rejects_num_classes(tmp_path, num_classes):
    """LoadSegAnnotations: label num_classes - 1 (the last class) and the ignore index 255
    load; label num_classes is rejected by name. (num_classes=255: 254 is the last class,
    255 the ignore index; nothing 8-bit is out of range.)"""
    from mmdla.datasets.seg_loading import LoadSegAnnotations
    transform = LoadSegAnnotations(num_classes=num_classes)

    def load(value):
        results = dict(
            seg_map_path=str(write_label(tmp_path, value)),
            img=np.zeros((6, 7, 3), np.uint8),
            ori_shape=(6, 7),
            reduce_zero_label=False,
            seg_fields=[])
        return transform(results)['gt_seg_map']

    for value in (num_classes - 1, 255):
        assert load(value)[2, 3] == value
    if num_classes < 255:
        with pytest.raises(DataError) as info:
            load(num_classes)
        assert (f'has value {num_classes} outside 0..{num_classes - 1} (ignore index 255)'
                in str(info.value))


def head_loss(head, value, ignore_index=255):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample()
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[0, 3, 3] = value
    label[0, 0, 0] = ignore_index
    sample.gt_sem_seg = PixelData(data=label)
    return head.loss_by_feat(torch.zeros(1, head.num_classes, 8, 8), [sample])


@pytest.fixture(scope='module')
def four_class_head():
    from mmdla.models import DLAUpHead
    return DLAUpHead(
        in_channels=[32, 64, 128, 256, 512],
        num_classes=4,
        loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True))


def test_head_accepts_last_class_and_rejects_num_classes(four_class_head):
    """DLAUpHead.loss_by_feat: label 3 of 4 classes gives the loss of uniform logits
    (ln 4, by hand); label 4 is rejected with the documented message."""
    losses = head_loss(four_class_head, 3)
    assert abs(losses['loss_ce'].item() - np.log(4)) < 1e-6
    with pytest.raises(DataError, match=r'has value 4 outside 0\.\.3 \(ignore index 255\)'):
        head_loss(four_class_head, 4)


def test_head_rejects_negative_labels(four_class_head):
    """'outside 0..num_classes - 1' has a lower end too: -1 is not a class either."""
    with pytest.raises(DataError, match=r'has value -1 outside 0\.\.3'):
        head_loss(four_class_head, -1)


# -- 1b. sizes just above a multiple of the stride ---------------------------------------------

_TINY = dict(levels=(1, 1, 1, 2, 2, 1), channels=(8, 8, 16, 16, 32, 32))
TINY_ARCHS = {  # DLA-34 and small custom archs with the other strided blocks
    'dla34': 'dla34',
    'bottleneck': dict(_TINY, block='bottleneck'),
    'bottle2neck': dict(_TINY, block='bottle2neck', base_width=16, scale=4),
}


@pytest.mark.parametrize('arch', list(TINY_ARCHS))
@pytest.mark.parametrize('shape', [(33, 33), (65, 97), (34, 63)])
def test_backbone_sizes_round_up_at_every_stride(arch, shape):
    """Level i of an H x W input is ceil(H / 2**i) x ceil(W / 2**i), for 2**k * m + 1
    sizes (one past a multiple of every stride) too: strided convs, ceil-mode max pools
    and Res2Net's average pools must all round up."""
    model = DLA(TINY_ARCHS[arch]).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, *shape))
    h, w = shape
    expected = [(-(-h // 2**i), -(-w // 2**i)) for i in range(6)]
    assert [tuple(o.shape[-2:]) for o in outs] == expected


# -- 2. crops on the right side -----------------------------------------------------------------


def test_crop_to_keeps_the_top_left():
    from mmdla.models.layers import crop_to
    n, c, h, w = 2, 3, 7, 9
    x = torch.arange(n * c * h * w, dtype=torch.float32).reshape(n, c, h, w)
    # element [a, b, i, j] of x is ((a * c + b) * h + i) * w + j: a crop keeps i < rows, j < cols
    for rows, cols in ((5, 6), (7, 6), (5, 9), (1, 1)):
        expected = torch.tensor([[[[((a * c + b) * h + i) * w + j for j in range(cols)]
                                   for i in range(rows)] for b in range(c)] for a in range(n)],
                                dtype=torch.float32)
        for layout in LAYOUTS:
            assert torch.equal(crop_to(in_layout(x, layout), (rows, cols)), expected), layout
    assert crop_to(x, (7, 9)) is x
    for size in ((8, 9), (7, 10)):
        with pytest.raises(ValueError, match='cannot crop'):
            crop_to(x, size)


def test_bilinear_kernel_is_the_official_fill_up_weights():
    """The official ``fill_up_weights`` (ucbdrive/dla), loop by loop: a shifted kernel
    would move every up-sampled map by a fraction of a pixel."""
    from mmdla.models.layers import bilinear_kernel
    for k in (4, 8, 16, 32):
        f = math.ceil(k / 2)
        c = (2 * f - 1 - f % 2) / (2. * f)
        expected = torch.tensor([[(1 - math.fabs(i / f - c)) * (1 - math.fabs(j / f - c))
                                  for j in range(k)] for i in range(k)])
        assert torch.allclose(bilinear_kernel(k), expected, rtol=0, atol=1e-7)
        assert torch.equal(bilinear_kernel(k), bilinear_kernel(k).flip(0).flip(1))


HEAD_CASES = {  # down_ratio, input size: the final crop removes 1 row / col (x2) or 3 (x4)
    'x2_67x75': (2, (67, 75)),
    'x4_65x77': (4, (65, 77)),
}


def dla_up_head(down_ratio, layout, num_classes=5):
    from mmdla.models import DLAUpHead
    channels = DLA.arch_settings['dla34']['channels'][{2: 1, 4: 2}[down_ratio]:]
    return DLAUpHead(
        in_channels=list(channels),
        down_ratio=down_ratio,
        num_classes=num_classes,
        memory_format=layout).eval()


@pytest.mark.parametrize('case', list(HEAD_CASES))
def test_dla_up_head_keeps_the_top_left_at_odd_sizes(case):
    """DLA-34 + DLA-Up at an odd size: every up-sampled map and the logits are cropped to
    the top-left of the map they meet / of the image. Against the official decoder
    recomputed with F.conv2d / F.conv_transpose2d and hand slices (float64)."""
    down_ratio, (h, w) = HEAD_CASES[case]
    torch.manual_seed(0)
    head = dla_up_head(down_ratio, 'contiguous')
    sd = as_reference(randomise_(head))
    strides = [down_ratio * 2**i for i in range(len(head.in_channels))]
    # the backbone's levels of an h x w image (test_backbone_sizes_round_up_at_every_stride)
    feats = [torch.randn(1, c, -(-h // s), -(-w // s)) for c, s in zip(head.in_channels, strides)]
    with torch.no_grad():
        full = head(feats)
        logits = head.predict_by_feat(full, [dict(img_shape=(h, w))])
        expected = ref_dla_up_head(sd, [f.double() for f in feats], head.in_channels, (h, w))
    stride = down_ratio
    assert tuple(full.shape[-2:]) == (stride * -(-h // stride), stride * -(-w // stride))
    assert tuple(logits.shape) == (1, 5, h, w)
    assert torch.equal(logits, full[:, :, :h, :w])  # rows 0..h-1 and cols 0..w-1 are kept
    assert relative_error(logits, expected) < 1e-5
    # a crop one pixel off, centred or bottom-right would be far off
    dh, dw = full.shape[-2] - h, full.shape[-1] - w
    for dy, dx in {(0, 1), (1, 0), (dh // 2, dw // 2), (-(-dh // 2), -(-dw // 2)),
                   (dh, dw)} - {(0, 0)}:
        shifted = full[:, :, dy:dy + h, dx:dx + w]
        assert relative_error(shifted, expected) > 1e-2


@pytest.mark.parametrize('layout', list(LAYOUTS))
def test_centernet_neck_keeps_the_top_left_at_odd_sizes(layout):
    """CenterNetDLANeck (plain convs) at 65x73: the stride-16 aggregate up-sampled x4 is
    20x20 and cropped to the top-left 17x19 of the stride-4 map (3 rows, 1 column);
    against CenterNet's decoder recomputed by hand (float64), for NHWC and NCHW inputs
    (the neck runs NCHW whatever it gets)."""
    pytest.importorskip('mmdet')
    from mmdla.models import CenterNetDLANeck
    torch.manual_seed(0)
    neck = CenterNetDLANeck(use_dcn=False).eval()
    sd = as_reference(randomise_(neck, transposed_scale=0.3))
    h, w = 65, 73
    feats = [
        torch.randn(1, c, -(-h // s), -(-w // s))
        for c, s in zip((64, 128, 256, 512), (4, 8, 16, 32))
    ]
    with torch.no_grad():
        out, = neck([in_layout(f, layout) for f in feats])
        expected = ref_centernet_neck(sd, [f.double() for f in feats])
    assert tuple(out.shape) == (1, 64, 17, 19)
    assert relative_error(out, expected) < 1e-5


# -- 3. branches taken in one memory layout only ------------------------------------------------


@pytest.mark.parametrize('model_layout', list(LAYOUTS))
def test_backbone_in_both_layouts_equals_float64_timm(timm_dla34, model_layout):
    """DLA(memory_format=...) converts its input to its layout: NHWC and NCHW inputs give
    timm's float64 numbers (random BN statistics)."""
    timm_model, sd = timm_dla34
    model = DLA('dla34', memory_format=model_layout).eval()
    model.load_state_dict(sd)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = timm_features(timm_model, x.double())
        for input_layout in LAYOUTS:
            outs = model(in_layout(x, input_layout))
            for i, (ours, ref) in enumerate(zip(outs, expected)):
                assert ours.shape == ref.shape
                assert ours.is_contiguous(memory_format=LAYOUTS[model_layout]), (input_layout, i)
                assert relative_error(ours, ref) < DEEP_RTOL, (input_layout, i)


@pytest.mark.parametrize('head_layout', list(LAYOUTS))
def test_dla_up_head_in_both_layouts_equals_float64_reference(head_layout):
    """DLAUpHead(memory_format=...) with NHWC and NCHW inputs at an odd size (crops of NHWC
    maps, the node's split weights of an NHWC conv) against the float64 reference."""
    h, w = 67, 75
    torch.manual_seed(0)
    head = dla_up_head(2, head_layout)
    sd = as_reference(randomise_(head))
    feats = [
        torch.randn(1, c, -(-h // s), -(-w // s))
        for c, s in zip(head.in_channels, (2, 4, 8, 16, 32))
    ]
    with torch.no_grad():
        expected = ref_dla_up_head(sd, [f.double() for f in feats], head.in_channels, (h, w))
        for input_layout in LAYOUTS:
            full = head([in_layout(f, input_layout) for f in feats])
            logits = head.predict_by_feat(full, [dict(img_shape=(h, w))])
            assert relative_error(logits, expected) < 1e-5, input_layout


def layout_config(layout):
    cfg = Config.fromfile(str(ROOT / 'configs' / 'dla34_toy.py'))
    cfg.merge_from_dict({
        'model.backbone.memory_format': layout,
        'model.decode_head.memory_format': layout
    })
    return cfg


@pytest.mark.parametrize('layout', list(LAYOUTS))
def test_bn_folded_segmentor_in_both_layouts_equals_float64_reference(timm_dla34, layout):
    """optimize_for_inference (BN folded into the convs, each module's layout restored)
    on dla34_toy built with either memory_format, fed NHWC and NCHW inputs: the float64
    reference (timm's DLA-34 + the official decoder by hand) within 1e-5."""
    from mmdla.apis import optimize_for_inference
    timm_model, backbone_sd = timm_dla34
    torch.manual_seed(0)
    model = build_model_from_config(layout_config(layout))
    model.backbone.load_state_dict(backbone_sd)
    head_sd = as_reference(randomise_(model.decode_head))
    fused = optimize_for_inference(copy.deepcopy(model))
    assert not any(isinstance(m, _BatchNorm) for m in fused.modules())
    not_in_layout = [
        n for n, p in fused.named_parameters()
        if p.dim() == 4 and not p.is_contiguous(memory_format=LAYOUTS[layout])
    ]
    assert not_in_layout == []
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = timm_features(timm_model, x.double())
        expected = ref_dla_up_head(head_sd, feats[1:], model.decode_head.in_channels, (64, 64))
        plain = model.decode_head(model.extract_feat(x))
        assert relative_error(plain, expected) < DEEP_RTOL
        for input_layout in LAYOUTS:
            ours = fused.decode_head(fused.extract_feat(in_layout(x, input_layout)))
            assert relative_error(ours, expected) < DEEP_RTOL, input_layout


def test_log_softmax_channels_in_every_layout():
    """The segmentation TTA's log-softmax over channels (an NHWC branch for non-contiguous
    logits): log p = x - max - log(sum(exp(x - max))) by hand in float64, for NCHW, NHWC
    and a cropped (neither) logits tensor; NHWC stays NHWC."""
    from mmdla.models.segmentors.tta import log_softmax_channels
    torch.manual_seed(0)
    x = torch.randn(2, 7, 9, 11) * 5
    inputs = {
        'contiguous': x,
        'channels_last': in_layout(x, 'channels_last'),
        'cropped': in_layout(x, 'channels_last')[:, :, :8, :10],
        'cropped_nchw': x[:, :, 1:, :10],
    }
    for name, logits in inputs.items():
        ref = logits.double().contiguous()
        shifted = ref - ref.max(1, keepdim=True).values
        expected = shifted - shifted.exp().sum(1, keepdim=True).log()
        ours = log_softmax_channels(logits)
        assert ours.shape == logits.shape
        assert relative_error(ours, expected) < 1e-6, name
    assert log_softmax_channels(
        inputs['channels_last']).is_contiguous(memory_format=torch.channels_last)


# -- 4. CenterNet's flip test ---------------------------------------------------------------------


def detection_view(shapes=((64, 96), (64, 96))):
    from mmdet.structures import DetDataSample
    images, samples = [], []
    for shape in shapes:
        images.append(torch.randint(0, 255, (3, *shape), dtype=torch.uint8))
        samples.append(
            DetDataSample(
                metainfo=dict(
                    img_shape=shape,
                    ori_shape=shape,
                    border=[0, shape[0], 0, shape[1]],
                    scale_factor=(1.0, 1.0),
                    batch_input_shape=shape)))
    return dict(inputs=images, data_samples=samples)


def test_centernet_flip_test_is_ctdets_rule(monkeypatch):
    """CenterNetTTAModel(flip=True) on a batch of two images: the maps it decodes are
    CenterNet's ctdet flip rule computed by hand from separate plain forwards of each image
    and its mirror - heatmap (sigmoid first) and wh averaged with the mirror's maps
    mirrored back, offsets of the unflipped image only - and the detections are those maps
    decoded."""
    pytest.importorskip('mmdet')
    from mmdla.models import CenterNetTTAModel
    torch.manual_seed(0)
    model = build_config_model('centernet_dla34_toy')
    model.init_weights()
    randomise_(model.neck)
    model.eval()
    with torch.no_grad():
        model.bbox_head.heatmap_head[2].weight.mul_(1e-2)  # scores around sigmoid(-2.19)
    view = detection_view()

    decoded = {}
    predict_by_feat = model.bbox_head.predict_by_feat

    def spy(heatmaps, whs, offsets, metas, rescale=True):
        decoded['maps'] = (heatmaps[0], whs[0], offsets[0])
        decoded['results'] = predict_by_feat(heatmaps, whs, offsets, metas, rescale=rescale)
        return decoded['results']

    monkeypatch.setattr(model.bbox_head, 'predict_by_feat', spy)
    with torch.no_grad():
        got = CenterNetTTAModel(model, flip=True).test_step({k: [v] for k, v in view.items()})
        inputs = model.data_preprocessor(copy.deepcopy(view), False)['inputs']
        mirror = torch.arange(inputs.shape[-1] - 1, -1, -1)
        maps = []
        for x in (inputs, inputs[..., mirror]):
            feat, = model.extract_feat(x)
            head = model.bbox_head
            maps.append(
                (head.heatmap_head(feat).sigmoid(), head.wh_head(feat), head.offset_head(feat)))
    (hm, wh, offset), (hm_m, wh_m, _) = maps
    back = torch.arange(hm.shape[-1] - 1, -1, -1)
    expected = ((hm + hm_m[..., back]) / 2, (wh + wh_m[..., back]) / 2, offset)
    for name, ours, ref in zip(('heatmap', 'wh', 'offset'), decoded['maps'], expected):
        assert ours.shape == ref.shape == (2, ref.shape[1], 16, 24), name
        assert relative_error(ours, ref) < 1e-5, name
    # the mirror matters: without it (or offsets averaged too) the maps would be far off
    assert relative_error(hm, expected[0]) > 1e-3 and relative_error(wh, expected[1]) > 1e-2
    assert relative_error((offset + maps[1][2][..., back]) / 2, offset) > 1e-2
    # one view: the detections are the decoded maps, best first (no merging)
    for sample, result in zip(got, decoded['results']):
        order = result.scores.argsort(descending=True, stable=True)
        assert len(sample.pred_instances) == 100
        assert torch.equal(sample.pred_instances.scores, result.scores[order])
        assert torch.equal(sample.pred_instances.bboxes, result.bboxes[order])
        assert torch.equal(sample.pred_instances.labels, result.labels[order])
