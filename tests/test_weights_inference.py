"""Converted checkpoints in OpenMMLab's own inference APIs, as their users write them.

The checkpoints are made the way a user makes them: a timm (classification) or official
DLASeg-layout (segmentation) state dict with random weights, saved as a safetensors file
like the hub's ``model.safetensors``, then converted by tools/model_converters/dla2mmdla.py
(which adds the class names). Then mmpretrain's ``ImageClassificationInferencer`` /
``get_model`` (also by model name through mmdla's model-index.yml), mmseg's
``MMSegInferencer`` / ``init_model`` + ``inference_model`` and demo/image_demo.py run the
real configs (configs/dla34_imagenet.py, configs/dla34_cityscapes.py) on one image, and
each prediction is compared with that of mmdla's own ``init_model`` (BN folded,
channels_last: equal up to float rounding).
"""
import cv2
import numpy as np
import pytest
import torch

from tests.helpers import (ROOT, build_config_model, load_tool, official_layout, random_timm_dla,
                           randomise_bn_)

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
demo = load_tool('demo/image_demo.py')
CLS_CONFIG = str(ROOT / 'configs/dla34_imagenet.py')
SEG_CONFIG = str(ROOT / 'configs/dla34_cityscapes.py')


def save_safetensors(state_dict, path):
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in state_dict.items()}, str(path))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """{'image', 'street', 'cls', 'seg'}: a 240x320 and a 128x256 BGR image, a converted
    DLA-34 ImageNet classifier and a converted DLA-34-Up Cityscapes segmentor."""
    root = tmp_path_factory.mktemp('weights')
    torch.manual_seed(0)
    save_safetensors(random_timm_dla('dla34').state_dict(), root / 'model.safetensors')
    assert dla2mmdla.main([str(root / 'model.safetensors'), str(root / 'dla34_imagenet.pth')]) == 0
    segmentor = randomise_bn_(build_config_model('dla34_cityscapes'))
    save_safetensors(official_layout(segmentor.state_dict()), root / 'dla34up.safetensors')
    assert dla2mmdla.main([str(root / 'dla34up.safetensors'), str(root / 'dla34up.pth')]) == 0
    rng = np.random.RandomState(0)
    image = cv2.GaussianBlur((rng.rand(240, 320, 3) * 255).astype(np.uint8), (9, 9), 3)
    cv2.imwrite(str(root / 'image.png'), image)
    street = cv2.GaussianBlur((rng.rand(128, 256, 3) * 255).astype(np.uint8), (5, 5), 2)
    cv2.imwrite(str(root / 'street.png'), street)
    return {
        'image': str(root / 'image.png'),
        'street': str(root / 'street.png'),
        'cls': str(root / 'dla34_imagenet.pth'),
        'seg': str(root / 'dla34up.pth')
    }


def mmdla_scores(files):
    """Class scores of mmdla's init_model (BN folded, channels_last) for files['image'],
    through the demo's pipeline (the config's test pipeline)."""
    from mmdla.apis import init_model
    from mmdla.engine import load_config
    cfg = load_config(CLS_CONFIG)
    model = init_model(cfg, files['cls'])
    return demo.classify(model, cfg, cv2.imread(files['image'])).pred_score, model


def assert_same_prediction(result, scores):
    """An mmpretrain inferencer result (dict) predicts what ``scores`` (init_model) do."""
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    best, second = scores.topk(2).values
    assert best - second > 1e-3 * best  # a clear winner: float rounding cannot swap them
    assert result['pred_label'] == int(scores.argmax())
    assert result['pred_class'] == IMAGENET_CATEGORIES[result['pred_label']]
    np.testing.assert_allclose(result['pred_scores'], scores.numpy(), rtol=1e-4, atol=1e-7)


def test_mmpretrain_inferencer_and_get_model(files):
    from mmpretrain import get_model
    from mmpretrain.apis import ImageClassificationInferencer
    scores, model = mmdla_scores(files)
    assert len(model.dataset_meta['classes']) == 1000  # from the converted checkpoint
    inferencer = ImageClassificationInferencer(
        model=CLS_CONFIG, pretrained=files['cls'], device='cpu')
    result = inferencer(files['image'])[0]
    print(f"ImageClassificationInferencer: {result['pred_class']!r} "
          f"{result['pred_score']:.5f}; mmdla init_model: {float(scores.max()):.5f}")
    assert_same_prediction(result, scores)
    loaded = get_model(CLS_CONFIG, pretrained=files['cls'], device='cpu')
    assert loaded._dataset_meta['classes'] == model.dataset_meta['classes']  # mmpretrain's
    assert_same_prediction(ImageClassificationInferencer(loaded)(files['image'])[0], scores)


def test_mmpretrain_model_hub_names_from_model_index(files):
    """mmdla's model-index.yml registered in mmpretrain's ModelHub: get_model and
    inference_model by metafile name (``pretrained=True`` would download the release file
    of the metafile's ``Weights:``)."""
    from mmpretrain.apis import ModelHub, get_model, inference_model
    ModelHub._register_mmpretrain_models()
    before = set(ModelHub._models_dict)
    try:
        ModelHub.register_model_index(ROOT / 'model-index.yml', config_prefix=ROOT)
        added = set(ModelHub._models_dict) - before
        assert {'dla34_imagenet', 'dla169_imagenet', 'centernet_dla34_coco_1x'} <= added
        assert ModelHub.get('dla34_imagenet').weights == (
            'https://huggingface.co/timm/dla34.in1k/resolve/main/model.safetensors')
        model = get_model('dla34_imagenet', pretrained=files['cls'], device='cpu')
        result = inference_model(model, files['image'])
    finally:
        for name in set(ModelHub._models_dict) - before:
            del ModelHub._models_dict[name]
    assert_same_prediction(result, mmdla_scores(files)[0])


def test_demo_prints_top5_with_class_names(files, tmp_path, capsys):
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    scores, _ = mmdla_scores(files)
    out_file = tmp_path / 'label.png'
    top = demo.main([files['image'], CLS_CONFIG, files['cls'], '--out-file', str(out_file)])
    values, ids = scores.topk(5)
    assert [t[0] for t in top] == ids.tolist()
    assert [t[1] for t in top] == [IMAGENET_CATEGORIES[i] for i in ids.tolist()]
    np.testing.assert_allclose([t[2] for t in top], values.numpy(), rtol=1e-5)
    out = capsys.readouterr().out
    for rank, (class_id, name, score) in enumerate(top, 1):
        assert f'  {rank}. {name} (class {class_id}): {score:.4f}' in out
    drawn, image = cv2.imread(str(out_file)), cv2.imread(files['image'])
    band = drawn.shape[0] - image.shape[0]
    assert drawn.shape[1:] == image.shape[1:] and band > 10
    assert (drawn[band:] == image).all()  # the image below the label band, uncovered
    assert (drawn[:band] < 128).any()  # the label's text
    # no --out-file: nothing written, top-3 with --topk
    assert len(demo.main([files['image'], CLS_CONFIG, files['cls'], '--topk', '3'])) == 3
    assert 'wrote' not in capsys.readouterr().out


def seg_reference(files):
    """(logits, prediction) of mmdla's init_model + mmseg's inference_model on the street."""
    from mmseg.apis import inference_model

    from mmdla.apis import init_model
    result = inference_model(init_model(SEG_CONFIG, files['seg']), files['street'])
    return result.seg_logits.data, result.pred_sem_seg.data[0]


def assert_same_segmentation(sample, logits, pred):
    scale = logits.abs().max()
    assert (sample.seg_logits.data - logits).abs().max() <= 1e-4 * scale
    agree = (sample.pred_sem_seg.data[0] == pred).float().mean().item()
    assert agree >= 0.999, agree
    return agree


def test_mmseg_inferencer_uses_checkpoint_classes_and_cityscapes_palette(files):
    from mmseg.apis import MMSegInferencer
    from mmseg.datasets import CityscapesDataset
    logits, pred = seg_reference(files)
    assert len(pred.unique()) >= 3  # a real map, not one class everywhere
    inferencer = MMSegInferencer(model=SEG_CONFIG, weights=files['seg'], device='cpu')
    assert inferencer.model.dataset_meta['classes'] == CityscapesDataset.METAINFO['classes']
    sample = inferencer(files['street'], return_datasamples=True)
    agree = assert_same_segmentation(sample, logits, pred)
    print(f'MMSegInferencer vs mmdla init_model: {agree:.4%} of the pixels agree')
    result = inferencer(files['street'], return_vis=True, with_labels=False)
    assert (result['predictions'] == sample.pred_sem_seg.data[0].numpy()).all()
    # the drawing: the image (RGB) blended with the Cityscapes colour of each pixel's class
    palette = np.array(CityscapesDataset.METAINFO['palette'], np.uint8)
    rgb = cv2.imread(files['street'])[:, :, ::-1].astype(np.float64)
    alpha = inferencer.visualizer.alpha
    expected = (rgb * (1 - alpha) + palette[result['predictions']] * alpha).astype(np.uint8)
    assert np.abs(result['visualization'].astype(int) - expected).max() <= 1


def test_mmseg_init_model_and_inference_model(files):
    from mmseg.apis import inference_model, init_model
    from mmseg.datasets import CityscapesDataset
    logits, pred = seg_reference(files)
    model = init_model(SEG_CONFIG, files['seg'], device='cpu')
    assert model.dataset_meta['classes'] == CityscapesDataset.METAINFO['classes']
    assert model.dataset_meta['palette'] == CityscapesDataset.METAINFO['palette']
    assert_same_segmentation(inference_model(model, files['street']), logits, pred)
