"""Fast by default: channels_last models, init_model's inference optimisations, the CPU
allocator setting, --compile / --amp. Every fast path must give the plain path's numbers."""
import os
import subprocess
import sys

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmdla.apis import init_model
from mmdla.errors import CheckpointMismatchError
from tests.helpers import ROOT, build_config_model, load_tool, randomise_bn_, run_and_expect_error

SEG, CLS = 'dla34_toy', 'dla46_c_toy_cls'


def config_path(name):
    return str(ROOT / 'configs' / f'{name}.py')


def conv_weights(model):
    return {n: p for n, p in model.named_parameters() if p.dim() == 4}


def relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize('config', [SEG, CLS])
def test_models_built_from_configs_are_channels_last(config):
    model = build_config_model(config)
    weights = conv_weights(model)
    assert len(weights) > 40
    not_nhwc = [
        n for n, p in weights.items() if not p.is_contiguous(memory_format=torch.channels_last)
    ]
    assert not_nhwc == []


def seg_batch(model, n=2, shape=(64, 128)):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 11, (1, *shape), generator=g))
        samples.append(sample)
    return torch.randn(n, 3, *shape, generator=g), samples


def cls_batch(model, n=4, shape=(64, 64)):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(1)
    samples = [
        DataSample().set_gt_label(int(torch.randint(0, 4, (1, ), generator=g))) for _ in range(n)
    ]
    return torch.randn(n, 3, *shape, generator=g), samples


def nchw_copy(model):
    """The same model in the NCHW layout (mmdla's modules convert their input to it)."""
    import copy
    twin = copy.deepcopy(model)
    for m in twin.modules():
        if isinstance(getattr(m, 'memory_format', None), torch.memory_format):
            m.memory_format = torch.contiguous_format
    return twin.to(memory_format=torch.contiguous_format)


@pytest.mark.parametrize('config,batch', [(SEG, seg_batch), (CLS, cls_batch)])
def test_channels_last_training_gives_the_nchw_losses_and_gradients(config, batch):
    """One training step from the same weights: channels_last (the default), NCHW float32
    and NCHW float64. Same loss; gradients equal up to float32 rounding. Rounding is
    amplified here - random init, training-mode BN over tiny batches - and an activation
    within rounding of 0 can take the other side of a ReLU: measured against float64 the
    NCHW float32 gradients differ by 5e-5 (classifier) / 1.4e-5 (segmentor) and the
    channels_last ones by 3e-2 / 1.6e-3 (relative L2), with cosine similarity > 0.9995."""
    torch.manual_seed(0)
    model = build_config_model(config)
    model.init_weights()
    nchw = nchw_copy(model)
    assert not any(
        p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
        for p in nchw.parameters())
    exact = nchw_copy(model).double()
    x, samples = batch(model)
    losses, grads = {}, {}
    for name, m, inputs in (('channels_last', model, x), ('nchw', nchw, x), ('float64', exact,
                                                                             x.double())):
        m.train()
        loss = sum(v for k, v in m(inputs, samples, mode='loss').items() if 'loss' in k)
        loss.backward()
        losses[name] = loss.item()
        grads[name] = torch.cat(
            [p.grad.double().flatten() for p in m.parameters() if p.grad is not None])
    report = {}
    for name in ('channels_last', 'nchw'):
        diff = ((grads[name] - grads['float64']).norm() / grads['float64'].norm()).item()
        cosine = torch.nn.functional.cosine_similarity(grads[name], grads['float64'], 0)
        report[name] = (diff, cosine.item())
        assert losses[name] == pytest.approx(losses['float64'], rel=1e-5)
    print(f'{config}: losses {losses}; gradients against float64 (relative L2, cosine): '
          f'{report}')
    diff, cosine = report['channels_last']
    assert diff < 5e-2 and cosine > 0.999
    assert grads['channels_last'].numel() == grads['nchw'].numel() > 10000


def saved_checkpoint(config, tmp_path):
    torch.manual_seed(0)
    model = randomise_bn_(build_config_model(config))
    path = tmp_path / f'{config}.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.mark.parametrize('config,batch', [(SEG, seg_batch), (CLS, cls_batch)])
def test_init_model_optimised_equals_plain(config, batch, tmp_path):
    checkpoint = saved_checkpoint(config, tmp_path)
    fast = init_model(config_path(config), checkpoint)
    plain = init_model(config_path(config), checkpoint, optimize=False)
    assert type(fast) is type(plain)  # the library's own class: predict, extract_feat work
    assert not any(isinstance(m, _BatchNorm) for m in fast.modules())  # every BN folded
    assert any(isinstance(m, _BatchNorm) for m in plain.modules())
    assert not fast.training and not plain.training
    assert fast.cfg.model.type == plain.cfg.model.type
    if config == SEG:  # class names of the config's dataset (the checkpoint has none)
        assert len(fast.dataset_meta['classes']) == 19
    x, samples = batch(plain)
    with torch.no_grad():
        error = relative_error(fast(x, mode='tensor'), plain(x, mode='tensor'))
        feats = [relative_error(a, b) for a, b in zip(fast.extract_feat(x), plain.extract_feat(x))]
        predicted = fast.predict(x, samples)
        expected = plain.predict(x, samples)
    print(f'{config}: output {error:.1e}, features {max(feats):.1e}')
    assert error < 1e-4 and max(feats) < 1e-4
    if config == SEG:
        for p, e in zip(predicted, expected):
            agree = (p.pred_sem_seg.data == e.pred_sem_seg.data).float().mean()
            assert agree > 0.999
    else:
        assert [int(p.pred_label) for p in predicted] == [int(e.pred_label) for e in expected]


def test_init_model_works_with_mmseg_inference_model(tmp_path):
    import numpy as np
    from mmseg.apis import inference_model
    model = init_model(config_path(SEG), saved_checkpoint(SEG, tmp_path))
    image = np.random.default_rng(0).integers(0, 255, (96, 160, 3), np.uint8)
    result = inference_model(model, image)
    assert tuple(result.pred_sem_seg.data.shape) == (1, 96, 160)


def test_init_model_rejects_a_checkpoint_of_another_model(tmp_path):
    checkpoint = saved_checkpoint(CLS, tmp_path)
    with pytest.raises(CheckpointMismatchError, match='does not fit'):
        init_model(config_path(SEG), checkpoint)


@pytest.mark.slow
def test_init_model_compile_equals_plain(tmp_path):
    checkpoint = saved_checkpoint(SEG, tmp_path)
    compiled = init_model(config_path(SEG), checkpoint, compile=True)
    plain = init_model(config_path(SEG), checkpoint, optimize=False)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        error = relative_error(compiled(x, mode='tensor'), plain(x, mode='tensor'))
    print(f'compiled: {error:.1e}')
    assert error < 1e-4
    assert all('forward' in vars(getattr(compiled, part)) for part in ('backbone', 'decode_head'))


ALLOCATION_PROBE = '''
import resource, sys, torch
from mmdla.utils.allocator import tune_cpu_allocator
active = tune_cpu_allocator()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
counts = []
for _ in range(5):  # 64 MiB, freed again at once
    before = faults()
    torch.ones(16, 1024, 1024)
    counts.append(faults() - before)
print(active, min(counts[2:]))  # after two warm-up tensors
'''


@pytest.mark.slow
@pytest.mark.parametrize('env,active', [({}, True), ({'MMDLA_CPU_ALLOCATOR': 'default'}, False)])
def test_cpu_allocator_setting_reuses_freed_feature_maps(env, active):
    """A 64 MiB tensor is 16384 pages: by default glibc maps (and the kernel zeroes) them
    afresh for every such tensor; with the setting, freed blocks are reused."""
    out = subprocess.run([sys.executable, '-c', ALLOCATION_PROBE],
                         capture_output=True,
                         text=True,
                         check=True,
                         env={
                             **os.environ,
                             **env
                         }).stdout.split()
    assert out[0] == str(active)
    faults_per_tensor = int(out[1])
    print(f'allocator setting {active}: {faults_per_tensor} page faults per 64 MiB tensor')
    if active:
        assert faults_per_tensor < 1000
    else:
        assert faults_per_tensor > 8000


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_amp_on_a_cpu_machine_is_a_clear_error(tool, capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    argv = [config_path(CLS), '--amp', '--work-dir', str(tmp_path)]
    if tool == 'tools/test.py':
        argv.insert(1, saved_checkpoint(CLS, tmp_path))
    err = run_and_expect_error(load_tool(tool), argv, capsys)
    assert '--amp' in err and 'GPU' in err
