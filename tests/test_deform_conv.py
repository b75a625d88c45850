"""The plain-PyTorch DCNv2 (mmdla.models.layers.deform_conv) against mmcv's kernels and
against a hand computation of bilinear sampling."""
import pytest
import torch
from mmcv.ops import ModulatedDeformConv2dPack

from mmdla.models import CenterNetDLANeck
from mmdla.models.layers import (PortableModulatedDeformConv2dPack, modulated_deform_conv2d,
                                 portable_deform_convs)
from mmdla.models.layers.deform_conv import is_mmcv_deform_conv


def relative(a, b):
    return float((a - b).abs().max() / b.abs().max())


# in, out, kernel, stride, padding, dilation, groups, deform_groups, H, W
CASES = [
    (8, 16, 3, 1, 1, 1, 1, 1, 9, 11),  # CenterNet's layer at an odd size
    (8, 12, 3, 2, 1, 1, 2, 2, 10, 7),  # stride 2, conv groups, deform groups
    (6, 6, 3, 1, 2, 2, 1, 1, 5, 6),  # dilation 2: most taps near or past the border
    (4, 6, 1, 1, 0, 1, 1, 1, 1, 3),  # 1x1 kernel, a one-pixel-high map
]


@pytest.mark.parametrize('case', CASES)
def test_equals_mmcv_forward_and_gradients(case):
    """Offsets of about +-2 pixels (bias N(0, 2)): taps between pixels and outside the map.
    Output and the gradients of input, weights, bias and offset conv <= 1e-5 relative."""
    cin, cout, k, stride, pad, dil, groups, deform_groups, h, w = case
    mmcv_conv = ModulatedDeformConv2dPack(
        cin,
        cout,
        k,
        stride=stride,
        padding=pad,
        dilation=dil,
        groups=groups,
        deform_groups=deform_groups)
    torch.nn.init.normal_(mmcv_conv.conv_offset.weight, 0, 0.5)
    torch.nn.init.normal_(mmcv_conv.conv_offset.bias, 0, 2)
    torch.nn.init.normal_(mmcv_conv.bias)
    portable = PortableModulatedDeformConv2dPack.from_mmcv(mmcv_conv)
    x = torch.randn(2, cin, h, w, requires_grad=True)
    x_copy = x.detach().clone().requires_grad_()
    expected, out = mmcv_conv(x), portable(x_copy)
    assert out.shape == expected.shape
    assert relative(out, expected) <= 1e-5
    grad = torch.randn_like(expected)
    expected.backward(grad)
    out.backward(grad)
    assert relative(x_copy.grad, x.grad) <= 1e-5
    for name, param in mmcv_conv.named_parameters():
        assert relative(portable.get_parameter(name).grad, param.grad) <= 1e-5, name


def test_hand_computed_bilinear_taps():
    """One channel, 1x1 kernel: output = mask * bilinear(x at (y + dy, x + dx)), written out
    from the four neighbours; a tap more than a pixel outside the map samples 0."""
    x = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4)**2
    offset = torch.zeros(1, 2, 3, 4, dtype=torch.float64)
    offset[0, 0, 1, 1], offset[0, 1, 1, 1] = 0.25, 0.5  # (1, 1) -> (1.25, 1.5)
    offset[0, 0, 2, 3], offset[0, 1, 2, 3] = 0.5, 0.0  # (2, 3) -> (2.5, 3): half outside
    offset[0, 0, 0, 0], offset[0, 1, 0, 0] = -1.5, 0.0  # (0, 0) -> (-1.5, 0): outside
    mask = torch.full((1, 1, 3, 4), 0.5, dtype=torch.float64)
    weight = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    out = modulated_deform_conv2d(x, offset, mask, weight, None)[0, 0]
    v = x[0, 0]
    inside = (0.75 * 0.5 * v[1, 1] + 0.75 * 0.5 * v[1, 2] + 0.25 * 0.5 * v[2, 1] +
              0.25 * 0.5 * v[2, 2])
    assert out[1, 1] == pytest.approx(0.5 * inside)
    assert out[2, 3] == pytest.approx(0.5 * 0.5 * v[2, 3])  # the row below is outside: 0
    assert out[0, 0] == 0
    assert out[0, 1] == pytest.approx(0.5 * v[0, 1])  # zero offset: the pixel itself


def test_same_parameters_init_and_state_dict_keys_as_mmcv():
    torch.manual_seed(0)
    mmcv_conv = ModulatedDeformConv2dPack(8, 16, 3, padding=1)
    torch.manual_seed(0)
    portable = PortableModulatedDeformConv2dPack(8, 16, 3, padding=1)
    assert {
        k: v.shape
        for k, v in portable.state_dict().items()
    } == {
        k: v.shape
        for k, v in mmcv_conv.state_dict().items()
    }
    assert torch.equal(portable.conv_offset.weight, mmcv_conv.conv_offset.weight)  # zeros
    bound = 1 / (8 * 9)**0.5
    assert portable.weight.abs().max() <= bound and portable.weight.std() > bound / 3
    mmcv_conv.load_state_dict(portable.state_dict())  # strict, both ways
    portable.load_state_dict(mmcv_conv.state_dict())


def test_neck_dcn_impl_pytorch_equals_mmcv_and_exporter_swap():
    """CenterNetDLANeck(dcn_impl='pytorch') takes the mmcv neck's state dict and gives its
    output; portable_deform_convs makes the same swap on a copy, leaving the model as it
    was."""
    torch.manual_seed(0)
    channels = (16, 32, 64, 128)
    neck = CenterNetDLANeck(in_channels=channels).eval()
    neck.init_weights()
    for m in neck.modules():
        if hasattr(m, 'conv_offset'):
            torch.nn.init.normal_(m.conv_offset.weight, 0, 0.05)
            torch.nn.init.normal_(m.conv_offset.bias, 0, 1)
    portable_neck = CenterNetDLANeck(in_channels=channels, dcn_impl='pytorch').eval()
    portable_neck.load_state_dict(neck.state_dict())
    feats = [torch.randn(1, c, -(-33 // 2**i), -(-45 // 2**i)) for i, c in enumerate(channels)]
    with torch.no_grad():
        expected = neck(feats)[0]
        assert relative(portable_neck(feats)[0], expected) <= 1e-5
        swapped, count = portable_deform_convs(neck)
        assert count == sum(is_mmcv_deform_conv(m) for m in neck.modules()) == 16
        assert not any(is_mmcv_deform_conv(m) for m in swapped.modules())
        assert relative(swapped(feats)[0], expected) <= 1e-5
    assert sum(is_mmcv_deform_conv(m) for m in neck.modules()) == 16  # original untouched
    assert portable_deform_convs(swapped) == (swapped, 0)


def test_bad_dcn_impl_is_named():
    with pytest.raises(ValueError, match="dcn_impl must be one of \\('mmcv', 'pytorch'\\)"):
        CenterNetDLANeck(dcn_impl='cuda')
