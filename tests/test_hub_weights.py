"""Weights by name: ``hf-hub:timm/<name>`` and the hub's file URLs, and local files of any
layout, wherever a checkpoint is taken - against the real huggingface_hub client, offline.

The hub file is written from a timm model with random weights and BN statistics into a
real huggingface_hub cache (``HF_HOME`` in a temporary directory, ``HF_HUB_OFFLINE=1``);
the download path runs against a local HTTP server that answers as the hub does
(``HF_ENDPOINT`` pointed at it; tests/fake_hub.py). Every loaded model must give timm's
outputs.
"""
import importlib
import os
import pickle
import re

import cv2
import numpy as np
import pytest
import torch

from mmdla.errors import CheckpointError
from tests.fake_hub import FakeHub, safetensors_bytes, write_cached_file
from tests.helpers import (ROOT, load_tool, official_state_dict, random_timm_dla,
                           run_and_expect_error, run_python)

IMAGENET = str(ROOT / 'configs/dla34_imagenet.py')
NAME, URL = 'hf-hub:timm/dla34.in1k', \
    'https://huggingface.co/timm/dla34.in1k/resolve/main/model.safetensors'
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255


def close(ours, ref, rtol=1e-4):
    """Equal within ``rtol`` of the reference's scale (max abs difference / max abs)."""
    return ((ours - ref).abs().max() / ref.abs().max()).item() <= rtol


@pytest.fixture(scope='module')
def timm_dla34(tmp_path_factory):
    """(timm dla34 with random weights, HF_HOME whose cache holds it as timm/dla34.in1k)."""
    torch.manual_seed(0)
    model = random_timm_dla('dla34')
    home = tmp_path_factory.mktemp('hf_home')
    write_cached_file(home, 'timm/dla34.in1k', 'model.safetensors', safetensors_bytes(model))
    return model, home


def use_hub(monkeypatch, home, offline=True, endpoint=None):
    """Point huggingface_hub (this process's, and the tools this test starts) at ``home``."""
    from huggingface_hub import constants
    monkeypatch.setenv('HF_HOME', str(home))
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(home / 'hub'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1' if offline else '0')
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', offline)
    if endpoint:
        monkeypatch.setenv('HF_ENDPOINT', endpoint)


@pytest.fixture
def hub(monkeypatch, timm_dla34):
    use_hub(monkeypatch, timm_dla34[1])
    return timm_dla34[0]


def test_init_model_by_hub_name_and_url_gives_timms_logits(hub):
    from mmdla.apis import init_model
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = hub(x)
        for checkpoint in (NAME, URL):
            model = init_model(IMAGENET, checkpoint)
            assert close(model(x, mode='tensor'), expected), checkpoint
    assert len(model.dataset_meta['classes']) == 1000  # ImageNet's names, from the conversion
    assert model.dataset_meta['classes'][0].startswith('tench')


@pytest.mark.parametrize('config',
                         ['dla34_cityscapes', 'dla34_camvid', 'dla34_cub', 'centernet_dla34_coco'])
def test_shipped_config_backbone_starts_from_the_hub_weights(hub, config):
    """The config's own ``init_cfg`` (hf-hub:timm/dla34.in1k, prefix 'backbone.')."""
    from mmengine.config import Config

    from mmdla.libraries import library_of
    cfg = Config.fromfile(str(ROOT / f'configs/{config}.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == NAME
    registry = importlib.import_module(library_of(cfg).registry).MODELS
    backbone = registry.build(cfg.model.backbone)
    backbone.init_weights()
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        assert close(backbone.eval()(x)[-1], hub.forward_features(x))


def test_pretrained_without_prefix_backbone_and_whole_classifier(hub):
    """No prefix: the DLA backbone takes the ``backbone.*`` of the converted classifier;
    a whole mmpretrain classifier (MMEngine's own Pretrained init) takes all of it."""
    from mmpretrain.registry import MODELS
    x = torch.randn(1, 3, 224, 224)
    backbone = MODELS.build(
        dict(type='DLA', arch='dla34', init_cfg=dict(type='Pretrained', checkpoint=URL)))
    backbone.init_weights()
    classifier = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='DLA', arch='dla34'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=512),
            init_cfg=dict(type='Pretrained', checkpoint=NAME)))
    classifier.init_weights()
    with torch.no_grad():
        assert close(backbone.eval()(x)[-1], hub.forward_features(x))
        assert close(classifier.eval()(x, mode='tensor'), hub(x))


def test_local_files_of_every_layout_load_as_checkpoints(hub, tmp_path):
    """timm's safetensors and .bin, an official .pth and the converted mmdla file give the
    same model through init_model and through a Pretrained init."""
    from safetensors.torch import save_file

    from mmdla.apis import init_model
    from mmdla.models import DLA
    timm_sd = hub.state_dict()
    save_file({k: v.contiguous() for k, v in timm_sd.items()}, tmp_path / 'model.safetensors')
    torch.save(timm_sd, tmp_path / 'pytorch_model.bin')
    torch.save(official_state_dict(timm_sd, 'dla34'), tmp_path / 'dla34-ba72cf86.pth')
    dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
    assert dla2mmdla.main([str(tmp_path / 'model.safetensors'), str(tmp_path / 'mm.pth')]) == 0
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected, features = hub(x), hub.forward_features(x)
        for name in ('model.safetensors', 'pytorch_model.bin', 'dla34-ba72cf86.pth', 'mm.pth'):
            path = str(tmp_path / name)
            assert close(init_model(IMAGENET, path)(x, mode='tensor'), expected), name
            backbone = DLA(
                'dla34', init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
            backbone.init_weights()
            assert close(backbone.eval()(x)[-1], features), name


def test_offline_with_an_empty_cache_says_how_to_fetch_the_file(monkeypatch, tmp_path, capsys):
    from mmdla.apis import init_model
    use_hub(monkeypatch, tmp_path / 'empty')
    with pytest.raises(CheckpointError) as info:
        init_model(IMAGENET, NAME)
    message = str(info.value)
    assert '\n' not in message and 'timm/dla34.in1k' in message and 'model.safetensors' in message
    assert 'hf download timm/dla34.in1k model.safetensors' in message
    assert 'HF_HUB_OFFLINE is set' in message
    image = toy_images(tmp_path / 'images', count=1)[0]
    err = run_and_expect_error(
        load_tool('demo/image_demo.py'), [str(image), IMAGENET, NAME], capsys)
    assert 'hf download timm/dla34.in1k model.safetensors --local-dir' in err


def toy_images(root, count=4, size=224):
    """``count`` random 224x224 images in a CustomDataset layout (two classes)."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = root / f'class{i % 2}' / f'{i}.png'
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def timm_scores(model, paths):
    """timm's softmax scores for images normalised as the ImageNet configs do."""
    images = np.stack([cv2.imread(str(p))[:, :, ::-1] for p in paths]).astype(np.float32)
    x = (torch.from_numpy(images).permute(0, 3, 1, 2) - MEAN) / STD
    with torch.no_grad():
        return model(x).softmax(-1)


def plain_pipeline_config(tmp_path, images) -> str:
    """The ImageNet config testing on ``images`` (a CustomDataset folder) without resizing."""
    config = tmp_path / 'dla34_images.py'
    config.write_text(f"""_base_ = '{IMAGENET}'
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
test_dataloader = dict(batch_size=2, num_workers=0, dataset=dict(
    _delete_=True, type='CustomDataset', data_root='{images}', data_prefix='',
    pipeline=test_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, ))
""")
    return str(config)


def test_mmpretrain_inferencer_by_hub_name(hub, tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer
    paths = toy_images(tmp_path / 'images', count=1)
    inferencer = ImageClassificationInferencer(
        model=plain_pipeline_config(tmp_path, tmp_path / 'images'), pretrained=NAME, device='cpu')
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    result = inferencer(str(paths[0]))[0]
    expected = timm_scores(hub, paths)[0]
    assert close(torch.as_tensor(result['pred_scores']), expected)
    assert result['pred_class'] == IMAGENET_CATEGORIES[expected.argmax()]  # names: converted


@pytest.mark.slow
def test_tools_test_and_demo_by_hub_name_give_timms_scores(hub, tmp_path):
    """tools/test.py CONFIG hf-hub:... and the demo, in fresh processes reading the cache."""
    paths = toy_images(tmp_path / 'images')
    config = plain_pipeline_config(tmp_path, tmp_path / 'images')
    run_python('tools/test.py', config, NAME, '--work-dir', tmp_path / 'work', '--out',
               tmp_path / 'preds.pkl')
    records = pickle.loads((tmp_path / 'preds.pkl').read_bytes())
    by_path = {r['img_path']: r['pred_score'] for r in records}
    expected = timm_scores(hub, paths)
    for path, ref in zip(paths, expected):
        assert close(by_path[str(path)], ref), path
    out = run_python('demo/image_demo.py', paths[0], config, NAME, '--topk', '3').stdout
    printed = re.findall(r'\(class (\d+)\): ([0-9.]+)', out)
    values, ids = expected[0].topk(3)
    assert [int(i) for i, _ in printed] == ids.tolist(), out
    assert np.allclose([float(s) for _, s in printed], values.numpy(), atol=6e-5), out


@pytest.mark.slow
def test_download_once_then_the_cache_and_a_truncated_download_is_never_used(tmp_path):
    """A fresh process with HF_ENDPOINT at a local hub: the first load downloads the file,
    the second reads the cache; a download cut short fails naming the URL, leaves nothing
    that a later load uses, and the next load downloads the whole file."""
    torch.manual_seed(0)
    models = {arch: random_timm_dla(arch) for arch in ('dla46_c', 'dla46x_c')}
    files = {
        (f'timm/{a}.in1k', 'model.safetensors'): safetensors_bytes(m)
        for a, m in models.items()
    }
    script = tmp_path / 'load_twice.py'
    script.write_text("""import sys, torch
import mmdla
from mmengine.runner.checkpoint import _load_checkpoint
from mmdla.errors import CheckpointError
name = sys.argv[1]
for attempt in range(2):
    try:
        state = _load_checkpoint(name)['state_dict']
        torch.save(state, sys.argv[2] + f'.{attempt}')
        print('loaded', attempt, len(state))
    except CheckpointError as exc:
        print('error', attempt, exc)
""")
    env = dict(os.environ, HF_HOME=str(tmp_path / 'home'), HF_HUB_OFFLINE='0')
    with FakeHub(files) as server:
        env['HF_ENDPOINT'] = server.url
        out = run_python(script, 'hf-hub:timm/dla46_c.in1k', tmp_path / 'c', env=env).stdout
        assert out.count('loaded') == 2, out
        assert server.gets('timm/dla46_c.in1k', 'model.safetensors') == 1  # then the cache
        server.truncate_once.add(('timm/dla46x_c.in1k', 'model.safetensors'))
        url = 'https://huggingface.co/timm/dla46x_c.in1k/resolve/main/model.safetensors'
        out = run_python(script, url, tmp_path / 'x', env=env).stdout
        assert server.gets('timm/dla46x_c.in1k', 'model.safetensors') == 2, out
    first, second = [line for line in out.splitlines() if line.startswith(('error', 'loaded'))]
    assert first.startswith('error 0') and f'{server.url}/timm/dla46x_c.in1k/resolve/main/' \
        'model.safetensors' in first, out
    assert second.startswith('loaded 1'), out
    for arch, prefix in (('dla46_c', 'c.1'), ('dla46x_c', 'x.1')):
        state = torch.load(tmp_path / prefix, weights_only=True)
        expected = {
            f'backbone.{k}': v
            for k, v in models[arch].state_dict().items() if not k.startswith('fc.')
        }
        assert all(torch.equal(state[k], v) for k, v in expected.items()), arch
        assert torch.equal(state['head.fc.weight'], models[arch].fc.weight.flatten(1))


def test_hub_names_that_are_wrong_are_named():
    from mmdla.errors import ConfigInputError
    from mmdla.models.hub import parse_hub_name, parse_hub_url
    assert parse_hub_name('hf-hub:timm/dla34.in1k@abc') == ('timm/dla34.in1k', 'abc')
    assert parse_hub_url(URL) == ('timm/dla34.in1k', 'main', 'model.safetensors')
    for bad in ('hf-hub:dla34', 'hf-hub:timm/dla34/x'):
        with pytest.raises(ConfigInputError, match='hf-hub:OWNER/REPO'):
            parse_hub_name(bad)
    with pytest.raises(ConfigInputError, match='not a hub file URL'):
        parse_hub_url('https://huggingface.co/timm/dla34.in1k')


def test_no_url_points_at_a_host_or_release_that_does_not_serve():
    """The offline official host and the never-created GitHub release appear in no URL of
    the project's files (README, configs, metafiles, package, tools)."""
    dead = re.compile(r'https?://(dl\.yf\.io|github\.com/mmdla/mmdla/releases)')
    files = [ROOT / 'README.md', ROOT / 'model-index.yml', ROOT / 'setup.py']
    for folder in ('configs', 'mmdla', 'tools', 'demo', 'docs'):
        files += [p for p in (ROOT / folder).rglob('*') if p.suffix in ('.py', '.md', '.yml')]
    found = [
        f'{p.relative_to(ROOT)}: {m.group(0)}' for p in files if p.is_file()
        for m in dead.finditer(p.read_text())
    ]
    assert not found, found
