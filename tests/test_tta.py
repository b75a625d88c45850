"""The paper's multi-scale test: DLASegTTAModel equals a hand computation."""
import cv2
import mmcv
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmdla.utils import build_model_from_config
from tests.helpers import ROOT, load_tool

make_toy_data = load_tool('tools/misc/make_toy_data.py')


def test_tta_is_sum_of_per_scale_log_softmax(tmp_path):
    from mmseg.registry import DATASETS, MODELS
    make_toy_data.main(
        [str(tmp_path / 'toy'), '--num-train', '1', '--num-val', '1', '--size', '64', '90'])
    cfg = Config.fromfile(str(ROOT / 'configs/dla34_toy.py'))
    torch.manual_seed(0)
    model = build_model_from_config(cfg, for_inference=False)
    model.init_weights()
    with torch.no_grad():  # non-trivial BN statistics
        model.train()(torch.randn(2, 3, 64, 64), mode='tensor')
    model.eval()
    with DefaultScope.overwrite_default_scope('mmseg'):
        tta = MODELS.build(dict(cfg.tta_model, module=model))
        dataset = DATASETS.build(
            dict(
                type='CityscapesDataset',
                data_root=str(tmp_path / 'toy'),
                data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
                pipeline=cfg.tta_pipeline))
    with torch.no_grad():
        result = tta.test_step(pseudo_collate([dataset[0]]))[0]

    # by hand: resize the image per scale, log-softmax, resize to the image, sum
    img = cv2.imread(dataset.get_data_info(0)['img_path'])
    h, w = img.shape[:2]
    mean = torch.tensor(cfg.model.data_preprocessor.mean)[:, None, None]
    std = torch.tensor(cfg.model.data_preprocessor.std)[:, None, None]
    total = 0
    for scale in (0.5, 0.75, 1.0, 1.25, 1.5):
        view = mmcv.imrescale(img, scale)  # what Resize(scale_factor, keep_ratio) does
        x = (torch.from_numpy(view[..., ::-1].copy()).permute(2, 0, 1).float() - mean) / std
        with torch.no_grad():
            logits = model(x[None], mode='tensor')[..., :view.shape[0], :view.shape[1]]
        total = total + F.interpolate(
            torch.log_softmax(logits, 1), (h, w), mode='bilinear', align_corners=False)[0]
    assert result.seg_logits.data.shape == (19, h, w)
    torch.testing.assert_close(result.seg_logits.data, total, rtol=1e-4, atol=1e-4)
    assert torch.equal(result.pred_sem_seg.data[0], total.argmax(0))
    assert result.gt_sem_seg.data.shape == (1, h, w)
    # a sum of log-probabilities (not an average of probabilities as mmseg's SegTTAModel)
    assert (result.seg_logits.data <= 0).all()
