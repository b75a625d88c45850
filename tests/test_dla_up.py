"""DLA-Up decode head: shapes, parameter counts, official equivalence through the converter.

The official DLASeg is reproduced here functionally (F.conv2d / F.batch_norm /
F.conv_transpose2d on an official-layout state dict, built by the construction rules of
the official ``DLAUp``), on top of timm's DLA backbone, independent of mmdla's modules.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict

from mmdla.errors import ConfigInputError
from mmdla.models import DLA
from mmdla.models.checkpoints import arch_signature
from mmdla.reference import DLA_UP
from tests.helpers import (load_tool, official_dlaup_plan, random_bn, random_timm_dla,
                           run_and_expect_error)

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')


def segmentor_cfg(arch, num_classes=19, down_ratio=2, **head):
    from mmseg.models import SegDataPreProcessor
    channels = DLA.arch_settings[arch]['channels']
    first = int(math.log2(down_ratio))
    return dict(
        type='EncoderDecoder',
        data_preprocessor=SegDataPreProcessor(),
        backbone=dict(type='DLA', arch=arch),
        decode_head=dict(
            type='DLAUpHead',
            in_channels=list(channels[first:]),
            down_ratio=down_ratio,
            num_classes=num_classes,
            loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True),
            **head),
        train_cfg=ConfigDict(),
        test_cfg=ConfigDict(mode='whole'))


def build_segmentor(*args, **kwargs):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(segmentor_cfg(*args, **kwargs))


@pytest.mark.parametrize('arch', list(DLA_UP))
def test_parameter_counts(arch):
    for num_classes, expected in zip((19, 11), (DLA_UP[arch].params_19, DLA_UP[arch].params_11)):
        with torch.device('meta'):
            model = build_segmentor(arch, num_classes)
        assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize('down_ratio', [2, 4, 8, 16])
@pytest.mark.parametrize('size', [(64, 96), (97, 131), (33, 35)])
def test_shapes_any_size(down_ratio, size):
    model = build_segmentor('dla34', num_classes=5, down_ratio=down_ratio).eval()
    h, w = size
    with torch.no_grad():
        logits = model(torch.randn(1, 3, h, w), mode='tensor')
        assert logits.shape == (1, 5, -(-h // down_ratio) * down_ratio,
                                -(-w // down_ratio) * down_ratio)
        results = model.predict(torch.randn(1, 3, h, w))
    assert results[0].seg_logits.data.shape == (5, h, w)
    assert results[0].pred_sem_seg.data.shape == (1, h, w)


def test_final_upsampling_is_frozen_bilinear_and_rest_learns():
    model = build_segmentor('dla34', num_classes=3)
    model.init_weights()
    up = model.decode_head.up
    assert not up.weight.requires_grad
    # bilinear x2 kernel of the official fill_up_weights
    row = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(up.weight[0, 0], torch.outer(row, row))
    ida_up = model.decode_head.dla_up.ida_0.up_1
    assert ida_up.weight.requires_grad
    torch.testing.assert_close(ida_up.weight[7, 0], torch.outer(row, row))


def test_loss_decreases_and_all_trainable_params_get_grads():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    model = build_segmentor('dla34', num_classes=4)
    model.init_weights()
    x = torch.randn(2, 3, 64, 64)
    labels = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()  # learnable from the pixels
    labels[:, :4] = 255  # ignored band
    samples = []
    for lab in labels:
        s = SegDataSample(gt_sem_seg=PixelData(data=lab[None]))
        s.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(s)
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for step in range(8):
        loss = model.loss(x, samples)['decode.loss_ce']
        optim.zero_grad()
        loss.backward()
        if step == 0:
            no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
            assert no_grad == []
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ConfigInputError, match='down_ratio must be 2, 4, 8 or 16'):
        build_segmentor('dla34', down_ratio=3)
    from mmseg.registry import MODELS
    with pytest.raises(ConfigInputError, match='in_channels needs 5 entries'):
        MODELS.build(dict(type='DLAUpHead', in_channels=[64, 128, 256, 512], num_classes=3))


# ---------------------------------------------------------------- official reference


def official_dlaseg_state_dict(timm_model, arch, num_classes, down_ratio):
    """Random official DLASeg tensors: base (+ dead project, + fc), dla_up, fc, up."""
    sd = {f'base.{k}': v for k, v in timm_model.state_dict().items()}
    for name, shape in arch_signature(arch)[1].items():
        sd[f'base.{name}'] = torch.randn(shape) if len(shape) else torch.tensor(3)
    channels = DLA.arch_settings[arch]['channels'][int(math.log2(down_ratio)):]
    for i, (out_dim, in_chs, factors) in enumerate(official_dlaup_plan(channels)):
        p = f'dla_up.ida_{i}'
        for k, (c, f) in enumerate(zip(in_chs, factors)):
            if c != out_dim:
                sd[f'{p}.proj_{k}.0.weight'] = torch.randn(out_dim, c, 1, 1) * (2 / c)**0.5
                random_bn(sd, f'{p}.proj_{k}.1', out_dim)
            if f != 1:
                sd[f'{p}.up_{k}.weight'] = torch.rand(out_dim, 1, 2 * f, 2 * f) * 0.5
        for k in range(1, len(in_chs)):
            sd[f'{p}.node_{k}.0.weight'] = torch.randn(out_dim, 2 * out_dim, 3,
                                                       3) * (1 / (9 * out_dim))**0.5
            random_bn(sd, f'{p}.node_{k}.1', out_dim)
    sd['fc.0.weight'] = torch.randn(num_classes, channels[0], 1, 1) * 0.1
    sd['fc.0.bias'] = torch.randn(num_classes) * 0.1
    sd['up.weight'] = torch.rand(num_classes, 1, 2 * down_ratio, 2 * down_ratio)
    return sd


def official_dlaseg_forward(timm_model, sd, x, down_ratio):
    """Official DLASeg.forward (before LogSoftmax), functionally."""

    def bn(t, p):
        return F.batch_norm(t, sd[f'{p}.running_mean'], sd[f'{p}.running_var'], sd[f'{p}.weight'],
                            sd[f'{p}.bias'], False, 0.0, 1e-5)

    def up(t, w):
        f = w.shape[-1] // 2
        return F.conv_transpose2d(t, w, stride=f, padding=f // 2, groups=t.shape[1])

    feats = [timm_model.base_layer(x)]
    for i in range(6):
        feats.append(getattr(timm_model, f'level{i}')(feats[-1]))
    layers = feats[1 + int(math.log2(down_ratio)):]
    for i in range(len(layers) - 1):
        p = f'dla_up.ida_{i}'
        inputs = list(layers[-i - 2:])
        for k, t in enumerate(inputs):
            if f'{p}.proj_{k}.0.weight' in sd:
                t = F.relu(bn(F.conv2d(t, sd[f'{p}.proj_{k}.0.weight']), f'{p}.proj_{k}.1'))
            if f'{p}.up_{k}.weight' in sd:
                t = up(t, sd[f'{p}.up_{k}.weight'])
            inputs[k] = t
        y, ys = inputs[0], []
        for k in range(1, len(inputs)):
            y = F.relu(
                bn(
                    F.conv2d(torch.cat([y, inputs[k]], 1), sd[f'{p}.node_{k}.0.weight'], padding=1),
                    f'{p}.node_{k}.1'))
            ys.append(y)
        layers[-i - 1:] = ys
    logits = F.conv2d(y, sd['fc.0.weight'], sd['fc.0.bias'])
    return up(logits, sd['up.weight'])


@pytest.mark.parametrize('arch,down_ratio', [('dla34', 2), ('dla102', 2), ('dla34', 8)])
def test_official_dlaseg_equivalence_through_converter(arch, down_ratio, tmp_path):
    torch.manual_seed(0)
    timm_model = random_timm_dla(arch)
    sd = official_dlaseg_state_dict(timm_model, arch, 19, down_ratio)
    torch.save(sd, tmp_path / f'{arch}up.pth')
    assert dla2mmdla.main([str(tmp_path / f'{arch}up.pth'), str(tmp_path / 'mm.pth')]) == 0
    ckpt = torch.load(tmp_path / 'mm.pth', weights_only=True)
    assert ckpt['meta']['task'] == 'segmentation' and ckpt['meta']['arch'] == arch
    assert ckpt['meta']['down_ratio'] == down_ratio
    model = build_segmentor(arch, 19, down_ratio).eval()
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(1, 3, 128, 160)
    with torch.no_grad():
        expected = official_dlaseg_forward(timm_model, sd, x, down_ratio)
        logits = model(x, mode='tensor')
    assert logits.shape == expected.shape == (1, 19, 128, 160)
    scale = expected.abs().max().item()
    error = (logits - expected).abs().max().item() / scale
    print(f'{arch}up down_ratio {down_ratio}: max logit difference {error:.2e} relative to '
          f'the largest logit {scale:.1f}')
    # channels_last (the default layout) and the nodes' conv of a concatenation computed as
    # a sum of convs only reorder float additions
    assert error < 1e-4


def test_segmentation_converter_reports_mismatch(tmp_path, capsys):
    torch.manual_seed(0)
    sd = official_dlaseg_state_dict(random_timm_dla('dla34'), 'dla34', 19, 2)
    sd['dla_up.ida_1.node_2.0.weight'] = torch.zeros(128, 256, 1, 1)
    del sd['up.weight']
    torch.save(sd, tmp_path / 'bad.pth')
    err = run_and_expect_error(
        dla2mmdla, [str(tmp_path / 'bad.pth'), str(tmp_path / 'o.pth')], capsys)
    assert 'dla34 DLA-Up (down_ratio 2) checkpoint does not match' in err
    assert 'missing 1: up.weight' in err
    assert 'dla_up.ida_1.node_2.0.weight (128, 256, 1, 1) != (128, 256, 3, 3)' in err


def test_channels_last_gives_the_same_logits():
    """channels_last (a faster memory format on CPU with oneDNN and on GPUs) changes only
    the memory layout: the logits agree to float rounding."""
    torch.manual_seed(0)
    model = build_segmentor('dla34', num_classes=5).eval()
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        expected = model(x, mode='tensor')
        model = model.to(memory_format=torch.channels_last)
        logits = model(x.contiguous(memory_format=torch.channels_last), mode='tensor')
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)


def test_fused_conv_bn_inference_path():
    """mmcv's fuse_conv_bn folds every BN of DLA + DLA-Up into the preceding conv (the
    --fuse-conv-bn path of the tools): no BN left, same logits."""
    import copy

    from mmcv.cnn import fuse_conv_bn
    torch.manual_seed(0)
    model = build_segmentor('dla46_c', num_classes=5)
    with torch.no_grad():  # non-trivial BN statistics
        model.train()(torch.randn(2, 3, 64, 64), mode='tensor')
    model.eval()
    fused = fuse_conv_bn(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(
            fused(x, mode='tensor'), model(x, mode='tensor'), rtol=1e-4, atol=1e-4)


def test_with_cp_same_loss_and_grads():
    torch.manual_seed(0)
    plain = build_segmentor('dla46_c', num_classes=3)
    plain.init_weights()
    checkpointed = build_segmentor('dla46_c', num_classes=3, with_cp=True)
    checkpointed.backbone = plain.backbone  # shared backbone: compare the head only
    checkpointed.decode_head.load_state_dict(plain.decode_head.state_dict())
    assert checkpointed.decode_head.dla_up.ida_0.with_cp
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for model in (plain, checkpointed):
        model.zero_grad()
        out = model(x, mode='tensor')
        (out**2).mean().backward()
        grads.append({
            n: p.grad.clone()
            for n, p in model.decode_head.named_parameters() if p.grad is not None
        })
        grads[-1]['out'] = out.detach()
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-6)
