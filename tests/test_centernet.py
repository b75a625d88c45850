"""CenterNet DLA-34 in MMDetection: the neck, conversion of CenterNet's ctdet checkpoints and
equivalence with CenterNet's network.

CenterNet's ``pose_dla_dcn.DLASeg`` is reproduced here functionally (F.conv2d /
F.batch_norm / F.conv_transpose2d and mmcv's ``modulated_deform_conv2d`` - the op CenterNet's
DCNv2 computes - on a CenterNet-layout state dict, built by the construction rules of
CenterNet's ``DLAUp`` / ``IDAUp``), on top of timm's DLA backbone, independent of mmdla's
modules.
"""
import pytest
import torch
import torch.nn.functional as F

from mmdla import reference
from mmdla.models.checkpoints import arch_signature
from tests.helpers import (ROOT, build_config_model, load_tool, official_dlaup_plan, random_bn,
                           random_timm_dla, randomise_bn_, run_and_expect_error)

pytest.importorskip('mmdet')

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
CONFIG = 'centernet_dla34_coco'


def random_deform_conv(sd, prefix, cin, cout):
    """CenterNet's DeformConv: conv (DCN: weight, bias, conv_offset_mask) + actf.0 (BN)."""
    sd[f'{prefix}.conv.weight'] = torch.randn(cout, cin, 3, 3) * (1 / (9 * cin))**0.5
    sd[f'{prefix}.conv.bias'] = torch.randn(cout) * 0.1
    # offsets of about a pixel, masks around sigmoid(0): the deformation matters
    sd[f'{prefix}.conv.conv_offset_mask.weight'] = torch.randn(27, cin, 3, 3) * 0.3 / (9 * cin)**0.5
    sd[f'{prefix}.conv.conv_offset_mask.bias'] = torch.randn(27) * 0.5
    random_bn(sd, f'{prefix}.actf.0', cout)


def random_ida(sd, prefix, out_dim, in_chs, factors):
    for k in range(1, len(in_chs)):
        random_deform_conv(sd, f'{prefix}.proj_{k}', in_chs[k], out_dim)
        random_deform_conv(sd, f'{prefix}.node_{k}', out_dim, out_dim)
        f = factors[k]
        sd[f'{prefix}.up_{k}.weight'] = torch.rand(out_dim, 1, 2 * f, 2 * f) * 0.5


def centernet_state_dict(timm_model, num_classes=80, head_conv=256):
    """Random CenterNet ctdet DLA-34 tensors: base (+ dead project), dla_up, ida_up, heads."""
    sd = {f'base.{k}': v for k, v in timm_model.state_dict().items() if not k.startswith('fc.')}
    for name, shape in arch_signature('dla34')[1].items():
        sd[f'base.{name}'] = torch.randn(shape) if len(shape) else torch.tensor(3)
    channels = [64, 128, 256, 512]
    for i, step in enumerate(official_dlaup_plan(channels)):
        random_ida(sd, f'dla_up.ida_{i}', *step)
    random_ida(sd, 'ida_up', 64, channels[:3], [1, 2, 4])
    for head, out in (('hm', num_classes), ('wh', 2), ('reg', 2)):
        sd[f'{head}.0.weight'] = torch.randn(head_conv, 64, 3, 3) * (1 / (9 * 64))**0.5
        sd[f'{head}.0.bias'] = torch.randn(head_conv) * 0.1
        sd[f'{head}.2.weight'] = torch.randn(out, head_conv, 1, 1) * (1 / head_conv)**0.5
        sd[f'{head}.2.bias'] = torch.full((out, ), -2.19) if head == 'hm' else torch.zeros(out)
    return sd


def centernet_forward(timm_model, sd, x):
    """CenterNet's DLASeg.forward (ctdet, down_ratio 4, last_level 5): hm (after sigmoid,
    as the detector reads it), wh, reg."""
    from mmcv.ops import modulated_deform_conv2d

    def deform_conv(t, p):
        out = F.conv2d(
            t,
            sd[f'{p}.conv.conv_offset_mask.weight'],
            sd[f'{p}.conv.conv_offset_mask.bias'],
            padding=1)
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        t = modulated_deform_conv2d(t.contiguous(),
                                    torch.cat((o1, o2), 1).contiguous(),
                                    torch.sigmoid(mask).contiguous(), sd[f'{p}.conv.weight'],
                                    sd[f'{p}.conv.bias'], 1, 1, 1, 1, 1)
        q = f'{p}.actf.0'
        return F.relu(
            F.batch_norm(t, sd[f'{q}.running_mean'], sd[f'{q}.running_var'], sd[f'{q}.weight'],
                         sd[f'{q}.bias'], False, 0.0, 1e-5))

    def ida_up(layers, startp, endp, p):  # in place, as CenterNet's IDAUp
        for i in range(startp + 1, endp):
            w = sd[f'{p}.up_{i - startp}.weight']
            f = w.shape[-1] // 2
            up = F.conv_transpose2d(
                deform_conv(layers[i], f'{p}.proj_{i - startp}'),
                w,
                stride=f,
                padding=f // 2,
                groups=w.shape[0])
            layers[i] = deform_conv(up + layers[i - 1], f'{p}.node_{i - startp}')

    feats = [timm_model.base_layer(x)]
    for i in range(6):
        feats.append(getattr(timm_model, f'level{i}')(feats[-1]))
    layers = feats[1:]  # levels 0..5
    out = [layers[-1]]
    for i in range(len(layers) - 2 - 1):  # DLAUp(startp=2)
        ida_up(layers, len(layers) - i - 2, len(layers), f'dla_up.ida_{i}')
        out.insert(0, layers[-1])
    y = [out[i].clone() for i in range(3)]
    ida_up(y, 0, 3, 'ida_up')

    def head(name):
        t = F.relu(F.conv2d(y[-1], sd[f'{name}.0.weight'], sd[f'{name}.0.bias'], padding=1))
        return F.conv2d(t, sd[f'{name}.2.weight'], sd[f'{name}.2.bias'])

    return head('hm').sigmoid(), head('wh'), head('reg')


def test_neck_parameter_counts():
    model = build_config_model(CONFIG)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(model.backbone) == reference.CENTERNET.backbone_params
    assert count(model.neck) == reference.CENTERNET.neck_params
    assert count(model.bbox_head) == reference.CENTERNET.head_params
    assert count(model) == reference.CENTERNET.params


@pytest.mark.slow
def test_centernet_checkpoint_converts_and_matches_centernet(tmp_path):
    torch.manual_seed(0)
    timm_model = random_timm_dla('dla34')
    sd = centernet_state_dict(timm_model)
    count = sum(v.numel() for k, v in sd.items()
                if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked')))
    assert count == reference.CENTERNET.official_params  # CenterNet's own tensors
    src = tmp_path / 'ctdet_coco_dla_1x.pth'
    torch.save({'epoch': 140, 'state_dict': {f'module.{k}': v for k, v in sd.items()}}, src)
    assert dla2mmdla.main([str(src), str(tmp_path / 'mm.pth')]) == 0
    ckpt = torch.load(tmp_path / 'mm.pth', weights_only=True)
    assert ckpt['meta']['task'] == 'detection' and ckpt['meta']['use_dcn'] is True
    model = build_config_model(CONFIG)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(1, 3, 512, 512)
    with torch.no_grad():
        expected = centernet_forward(timm_model, sd, x)
        heatmap, wh, offset = (t[0] for t in model.bbox_head(model.extract_feat(x)))
    errors = {
        name: (ours - ref).abs().max().item()
        for name, ours, ref in zip(('heatmap', 'wh', 'offset'), (heatmap, wh, offset), expected)
    }
    print(f'CenterNet DLA-34 (DCN) at 512x512, max abs difference: {errors}; scale: '
          f'wh {expected[1].abs().max():.2f}, offset {expected[2].abs().max():.2f}')
    assert heatmap.shape == (1, 80, 128, 128)
    assert max(errors.values()) <= 1e-4
    # CenterNet's file itself is a checkpoint too (converted in memory, the same tensors)
    from mmdla.apis import init_model
    direct = init_model(str(ROOT / f'configs/{CONFIG}.py'), str(src), optimize=False)
    assert direct.dataset_meta['classes'][0] == 'person'  # COCO names, from the conversion
    with torch.no_grad():
        for ours, ref in zip(direct.bbox_head(direct.extract_feat(x)), (heatmap, wh, offset)):
            assert torch.equal(ours[0], ref)


def test_converter_names_what_does_not_fit(tmp_path, capsys):
    torch.manual_seed(0)
    sd = centernet_state_dict(random_timm_dla('dla34'))
    del sd['ida_up.node_2.conv.weight']
    sd['wh.2.weight'] = torch.zeros(3, 256, 1, 1)
    torch.save({'epoch': 1, 'state_dict': sd}, tmp_path / 'broken.pth')
    err = run_and_expect_error(
        dla2mmdla,
        [str(tmp_path / 'broken.pth'), str(tmp_path / 'out.pth')], capsys)
    assert 'CenterNet checkpoint does not match' in err
    assert 'missing 1: ida_up.node_2.conv.weight' in err
    assert 'wh_head.2.weight (3, 256, 1, 1) != (2, 256, 1, 1)' in err
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('use_dcn', [True, False])
def test_training_step_reaches_every_parameter(use_dcn):
    """A loss step of the COCO config's model (DCN: mmcv's CPU kernels, forward and
    backward) on an input that is not a multiple of 32."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    torch.manual_seed(0)
    model = build_config_model(CONFIG)
    if not use_dcn:
        from mmdla.models import CenterNetDLANeck
        model.neck = CenterNetDLANeck(use_dcn=False)
    model.init_weights()
    model.train()
    sample = DetDataSample(metainfo=dict(img_shape=(96, 136), batch_input_shape=(96, 136)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 12., 60., 70.]]), labels=torch.tensor([3]))
    losses = model.loss(torch.randn(1, 3, 96, 136), [sample])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert torch.isfinite(total)
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []
    offsets = [p for n, p in model.named_parameters() if 'conv_offset' in n]
    assert (len(offsets) > 0) == use_dcn


@pytest.mark.slow
def test_init_model_optimised_detector_equals_plain(tmp_path):
    """mmdla.apis.init_model on a detector (BN folded into the neck's and backbone's convs):
    the heads' outputs of the plain model within 1e-4 relative."""
    from mmdla.apis import init_model
    torch.manual_seed(0)
    model = randomise_bn_(build_config_model('centernet_dla34_toy'))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'toy.pth')
    config = str(ROOT / 'configs' / 'centernet_dla34_toy.py')
    fast = init_model(config, str(tmp_path / 'toy.pth'))
    plain = init_model(config, str(tmp_path / 'toy.pth'), optimize=False)
    assert tuple(fast.dataset_meta['classes']) == ('car', 'person', 'traffic sign', 'traffic light'
                                                   )  # the config's metainfo
    x = torch.randn(1, 3, 128, 256)
    with torch.no_grad():
        ours = [t[0] for t in fast.bbox_head(fast.extract_feat(x))]
        ref = [t[0] for t in plain.bbox_head(plain.extract_feat(x))]
    errors = [((a - b).abs().max() / b.abs().max()).item() for a, b in zip(ours, ref)]
    print(f'detector init_model vs plain (heatmap, wh, offset): {errors}')
    assert max(errors) < 1e-4


def toy_view(model, shape=(96, 160), scale=1.0):
    from mmdet.structures import DetDataSample
    torch.manual_seed(1)
    image = torch.randint(0, 255, (3, *shape), dtype=torch.uint8)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=shape,
            ori_shape=shape,
            border=[0, shape[0], 0, shape[1]],
            scale_factor=(scale, scale),
            batch_input_shape=shape))
    return dict(inputs=[image], data_samples=[sample])


def test_centernet_tta_single_view_without_flip_is_the_plain_prediction():
    from mmdla.models import CenterNetTTAModel
    torch.manual_seed(0)
    model = build_config_model('centernet_dla34_toy')
    model.init_weights()
    model.eval()
    with torch.no_grad():  # scores around sigmoid(-2.19), no ties
        model.bbox_head.heatmap_head[2].weight.mul_(1e-2)
        expected = model.test_step(toy_view(model))[0].pred_instances
        tta = CenterNetTTAModel(model, flip=False)
        data = {k: [v] for k, v in toy_view(model).items()}  # one view
        got = tta.test_step(data)[0].pred_instances
        flipped = CenterNetTTAModel(
            model, flip=True).test_step({
                k: [v]
                for k, v in toy_view(model).items()
            })[0].pred_instances
        views = {k: [v, w] for (k, v), w in zip(toy_view(model).items(), toy_view(model).values())}
        merged = CenterNetTTAModel(model, max_per_img=50).test_step(views)[0].pred_instances

    def rows(i):  # detections as a set (order among equal scores is arbitrary)
        table = torch.cat([i.scores[:, None], i.bboxes, i.labels[:, None].float()], 1)
        for column in reversed(range(table.shape[1])):
            table = table[table[:, column].argsort(stable=True)]
        return table

    assert torch.equal(rows(got), rows(expected))
    assert len(flipped) == 100 and not torch.equal(flipped.scores, expected.scores)
    assert len(merged) == 50 and bool((merged.scores[:-1] >= merged.scores[1:]).all())


@pytest.mark.parametrize(
    'arch,shape', [pytest.param('dla60', (64, 96), marks=pytest.mark.slow), ('dla34', (33, 47))])
def test_neck_with_other_archs_and_sizes(arch, shape):
    """Any DLA arch with its level 2..5 channels; any input of at least 32x32."""
    from mmdla.models import DLA, CenterNetDLANeck
    backbone = DLA(arch, out_indices=(2, 3, 4, 5)).eval()
    channels = DLA.arch_settings[arch]['channels'][2:]
    neck = CenterNetDLANeck(in_channels=channels, use_dcn=False).eval()
    with torch.no_grad():
        out, = neck(backbone(torch.rand(1, 3, *shape)))
    assert tuple(out.shape) == (1, channels[0], -(-shape[0] // 4), -(-shape[1] // 4))
    from mmdla.errors import ConfigInputError
    wrong = tuple(2 * c for c in channels)
    with pytest.raises(ConfigInputError, match=r'in_channels .* do not fit the backbone'):
        CenterNetDLANeck(in_channels=wrong, use_dcn=False)(backbone(torch.rand(1, 3, 64, 64)))
