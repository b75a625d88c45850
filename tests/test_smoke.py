"""SMOKE (monocular 3D detection) in MMDetection3D with mmdla's DLA-34 and CenterNetDLANeck:
equivalence with mmdet3d's own DLANet + DLANeck through the converter, a training step and
inference through mmdet3d's KittiDataset and SMOKE pipeline on a KITTI sample the test
writes, and the one-line refusal of the image-only tools."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdla import reference
from mmdla.errors import CheckpointMismatchError
from tests.helpers import ROOT, load_tool, run_and_expect_error

pytest.importorskip('mmdet3d.models')

CONFIG = str(ROOT / 'configs' / 'smoke_dla34_kitti-mono3d.py')
dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')

#: KITTI's camera 2 intrinsics (training/calib/000000.txt, P2) as mmdet3d's 4x4 cam2img
CAM2IMG = np.array([[721.5377, 0, 609.5593, 44.85728], [0, 721.5377, 172.854, 0.2163791],
                    [0, 0, 1, 0.002745884], [0, 0, 0, 1]])


def mmdet3d_config():
    """mmdet3d's own SMOKE config (its DLANet + DLANeck), without the unreachable weights."""
    import mmdet3d
    from mmdet3d.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules(init_default_scope=False)  # (no global scope: other tests follow)
    cfg = Config.fromfile(
        Path(mmdet3d.__file__).parent / '.mim' / 'configs' / 'smoke' /
        'smoke_dla34_dlaneck_gn-all_4xb8-6x_kitti-mono3d.py')
    cfg.model.backbone.init_cfg = None
    return cfg


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """(mmdet3d's SMOKE with random weights and GroupNorm affines, in float64; mmdla's SMOKE
    config loaded strictly from its checkpoint converted by dla2mmdla.py, in float64)."""
    from mmengine.runner import load_checkpoint

    from mmdla.utils import build_model_from_config
    from mmdla.utils.builders import build_in_scope
    ref = build_in_scope(mmdet3d_config().model, 'mmdet3d')
    ref.init_weights()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if p.dim() == 1:  # GroupNorm affines and biases: far from 1 / 0
                p.copy_(torch.randn(p.shape, generator=g) * 0.1 + name.endswith('norm.weight'))
    tmp = tmp_path_factory.mktemp('smoke')
    torch.save({'state_dict': ref.state_dict(), 'meta': {}}, tmp / 'smoke_mmdet3d.pth')
    assert dla2mmdla.main([str(tmp / 'smoke_mmdet3d.pth'), str(tmp / 'smoke_mmdla.pth')]) == 0
    ours = build_model_from_config(CONFIG, for_inference=True)
    load_checkpoint(ours, str(tmp / 'smoke_mmdla.pth'), strict=True)
    return ref.double().eval(), ours.double().eval(), tmp / 'smoke_mmdla.pth'


def test_registered_in_mmdet3d():
    from mmdet3d.registry import MODELS

    from mmdla.models import DLA, CenterNetDLANeck
    assert MODELS.get('DLA') is DLA and MODELS.get('CenterNetDLANeck') is CenterNetDLANeck


def test_converted_checkpoint_meta_and_parameter_count(models):
    ref, ours, path = models
    meta = torch.load(path, weights_only=False)['meta']
    assert (meta['task'], meta['arch'], meta['source_format'], meta['norm']) == ('mono3d', 'dla34',
                                                                                 'mmdet3d', 'GN')
    assert meta['dataset_meta']['classes'] == ('Pedestrian', 'Cyclist', 'Car')
    count = sum(p.numel() for p in ours.parameters())
    assert count == reference.smoke_params() == 19_468_715
    # mmdet3d's DLANet holds the dead project convs of the depth-2 trees besides
    assert sum(p.numel() for p in ref.parameters()) - count == 41_728


@pytest.mark.slow
@pytest.mark.parametrize('shape', [(384, 1280), (190, 622)], ids=['kitti-padded', 'odd'])
def test_equals_mmdet3d_smoke(models, shape):
    """Neck output and SMOKE head outputs (heatmap, regression) of mmdla's model equal
    mmdet3d's within 1e-4 relative; an odd size is padded to a multiple of 32 as the data
    preprocessor does (mmdet3d's neck needs that)."""
    ref, ours, _ = models
    h, w = shape
    x = F.pad(torch.rand(1, 3, h, w, dtype=torch.float64), (0, -w % 32, 0, -h % 32))
    with torch.no_grad():
        feat_ref, feat = ref.neck(ref.backbone(x))[0], ours.neck(ours.backbone(x))[0]
        outs_ref, outs = ref.bbox_head((feat_ref, )), ours.bbox_head((feat, ))
    assert feat.shape == (1, 64, (h + 31) // 32 * 8, (w + 31) // 32 * 8)
    for a, b in [(feat, feat_ref), *((o[0], r[0]) for o, r in zip(outs, outs_ref))]:
        assert ((a - b).abs().max() / b.abs().max()).item() < 1e-4


def test_converter_names_what_does_not_fit(models, tmp_path, capsys):
    ref = models[0]
    sd = dict(ref.state_dict())
    sd['neck.dla_up.ida_0.projs.0.conv.weight'] = torch.zeros(256, 500, 3, 3)
    from mmdla.models.converters import convert_smoke
    with pytest.raises(CheckpointMismatchError, match=r'neck\.dla_up\.ida_0\.proj_1\.conv\.weight'):
        convert_smoke({'state_dict': sd})
    torch.save({'state_dict': sd}, tmp_path / 'bad.pth')
    err = run_and_expect_error(
        dla2mmdla, [str(tmp_path / 'bad.pth'), str(tmp_path / 'o.pth')], capsys)
    assert 'SMOKE checkpoint does not match' in err and 'proj_1' in err


def write_kitti_sample(root, width=1242, height=375):
    """One KITTI training sample in mmdet3d's v2 info format (kitti_infos_train.pkl, the
    layout tools/create_data.py kitti writes): an image with two drawn objects, camera 2's
    calibration and their camera-frame 3D boxes (x, y, z bottom centre, l, h, w, ry) with the
    2D boxes, projected centres and depths the mono-3D pipeline reads."""
    import mmcv
    rng = np.random.default_rng(0)
    image = (rng.random((height, width, 3)) * 60 + 60).astype(np.uint8)
    objects = [(2, (1.5, 1.65, 14.0, 3.9, 1.56, 1.6, 0.2)),
               (0, (-3.0, 1.7, 9.0, 0.8, 1.75, 0.6, -1.4))]
    instances = []
    for label, (x, y, z, l, h, w, ry) in objects:
        corners = np.array([[dx * l / 2, -dy * h, dz * w / 2] for dx in (-1, 1) for dy in (0, 1)
                            for dz in (-1, 1)])
        rot = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
        points = corners @ rot.T + [x, y, z]
        uv = points @ CAM2IMG[:3, :3].T + CAM2IMG[:3, 3]
        uv = uv[:, :2] / uv[:, 2:]
        x1, y1 = uv.min(0).clip(0)
        x2, y2 = uv.max(0).clip(max=(width - 1, height - 1))
        centre = np.array([x, y - h / 2, z]) @ CAM2IMG[:3, :3].T + CAM2IMG[:3, 3]
        image[int(y1):int(y2), int(x1):int(x2)] = (200, 40, 40) if label == 2 else (40, 200, 40)
        instances.append(
            dict(
                bbox=[float(x1), float(y1), float(x2), float(y2)],
                bbox_label=label,
                bbox_3d=[x, y, z, l, h, w, ry],
                bbox_label_3d=label,
                bbox_3d_isvalid=True,
                center_2d=[float(centre[0] / centre[2]),
                           float(centre[1] / centre[2])],
                depth=float(centre[2])))
    (root / 'training' / 'image_2').mkdir(parents=True)
    mmcv.imwrite(image, str(root / 'training' / 'image_2' / '000000.png'))
    info = dict(
        sample_idx=0,
        images=dict(
            CAM2=dict(
                img_path='000000.png',
                height=height,
                width=width,
                cam2img=CAM2IMG.tolist(),
                lidar2cam=np.eye(4).tolist(),
                lidar2img=CAM2IMG.tolist()),
            R0_rect=np.eye(4).tolist()),
        lidar_points=dict(num_pts_feats=4, lidar_path='000000.bin'),
        instances=[],
        cam_instances=dict(CAM2=instances))
    categories = {'Pedestrian': 0, 'Cyclist': 1, 'Car': 2}
    with open(root / 'kitti_infos_train.pkl', 'wb') as f:
        pickle.dump(
            dict(
                metainfo=dict(categories=categories, dataset='kitti', info_version='1.1'),
                data_list=[info]), f)


@pytest.fixture(scope='module')
def kitti_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('kitti')
    write_kitti_sample(root)
    return root


def smoke_dataset(root, pipeline_scale, test_mode):
    """mmdet3d's KittiDataset (SMOKE's config) on ``root`` with the SMOKE pipeline at
    ``pipeline_scale`` (W, H), no random flips or shifts (a deterministic test)."""
    from mmengine.config import Config

    from mmdla.utils.builders import build_in_scope
    cfg = Config.fromfile(CONFIG)
    loader = cfg.test_dataloader if test_mode else cfg.train_dataloader
    pipeline = [
        t for t in loader.dataset.pipeline if t.type not in ('RandomFlip3D', 'RandomShiftScale')
    ]
    for t in pipeline:
        if t.type == 'AffineResize':
            t.img_scale = pipeline_scale
    dataset = dict(
        loader.dataset,
        data_root=str(root),
        ann_file='kitti_infos_train.pkl',
        pipeline=pipeline,
        test_mode=test_mode)
    return build_in_scope(dataset, 'mmdet3d', 'DATASETS')


@pytest.mark.slow
def test_training_steps_reduce_the_loss(kitti_root):
    """SMOKE from mmdla's config (random init, the portable deformable conv: its backward is
    ~7x faster than mmcv's CPU kernel) trained on the KITTI sample through mmdet3d's dataset
    and pipeline at 640x192: the loss falls in six Adam steps."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper

    from mmdla.utils import build_model_from_config
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.dcn_impl = 'pytorch'
    model = build_model_from_config(cfg, for_inference=False)
    model.init_weights()
    model.train()
    dataset = smoke_dataset(kitti_root, (640, 192), test_mode=False)
    sample = dataset[0]
    assert tuple(sample['inputs']['img'].shape) == (3, 192, 640)
    assert len(sample['data_samples'].gt_instances_3d.labels_3d) == 2
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-4))
    losses = []
    for _ in range(6):
        log = model.train_step(pseudo_collate([sample]), optim)
        losses.append(log['loss'].item())
    assert all(np.isfinite(losses)), losses
    assert np.mean(losses[-2:]) < 0.6 * losses[0], losses


def test_inference_gives_camera_boxes(models, kitti_root):
    """Inference through mmdet3d's test pipeline (affine resize to 1280x384): 3D boxes in
    camera coordinates with scores and labels of the three KITTI classes."""
    from mmdet3d.structures import CameraInstance3DBoxes
    from mmengine.dataset import pseudo_collate
    ours = models[1].float()
    try:
        dataset = smoke_dataset(kitti_root, (1280, 384), test_mode=True)
        with torch.no_grad():
            (result, ) = ours.test_step(pseudo_collate([dataset[0]]))
    finally:
        ours.double()
    boxes = result.pred_instances_3d
    assert isinstance(boxes.bboxes_3d, CameraInstance3DBoxes)
    assert boxes.bboxes_3d.tensor.shape == (100, 7)  # test_cfg max_per_img
    assert boxes.scores_3d.shape == (100, ) and set(boxes.labels_3d.tolist()) <= {0, 1, 2}
    assert torch.isfinite(boxes.bboxes_3d.tensor).all()


#: the image-only tools and a command line of each for a SMOKE config
IMAGE_TOOLS = {
    'tools/analysis_tools/get_flops.py': [],
    'tools/analysis_tools/benchmark.py': [],
    'tools/analysis_tools/browse_dataset.py': ['--output-dir', '{tmp}', '--not-show'],
    'tools/analysis_tools/tta_cost.py': [],
    'tools/analysis_tools/confusion_matrix.py': ['{tmp}/p.pkl', '--out', '{tmp}/cm.png'],
    'tools/deployment/pytorch2onnx.py': ['--out', '{tmp}/m.onnx'],
    'tools/deployment/pytorch2torchscript.py': ['--out', '{tmp}/m.pt'],
    'tools/deployment/pytorch2openvino.py': ['--out', '{tmp}/ov'],
    'tools/deployment/test_deployed.py': ['{tmp}/m.onnx'],
}


@pytest.mark.parametrize('tool', IMAGE_TOOLS, ids=lambda t: t.rsplit('/', 1)[-1][:-3])
def test_image_tools_refuse_mono3d_configs_in_one_line(tool, tmp_path, capsys):
    argv = [CONFIG] + [a.format(tmp=tmp_path) for a in IMAGE_TOOLS[tool]]
    err = run_and_expect_error(load_tool(tool), argv, capsys)
    assert 'mono3d' in err, err


def test_image_demo_refuses_mono3d_configs_in_one_line(tmp_path, capsys):
    import mmcv
    mmcv.imwrite(np.zeros((64, 64, 3), np.uint8), str(tmp_path / 'a.png'))
    err = run_and_expect_error(
        load_tool('demo/image_demo.py'), [str(tmp_path / 'a.png'), CONFIG, 'none.pth'], capsys)
    assert 'mono3d' in err, err
