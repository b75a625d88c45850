"""CenterNet DLA-34 (use_dcn=False) end to end on the toy scenes' boxes: tools/train.py ->
tools/test.py (single scale, --tta) -> demo/image_demo.py.

The model is trained once (a module fixture) for 6 of the toy config's 40 epochs (lr x0.1
after 5) at batch 4 instead of 8 (twice the steps for the same compute: measured with one
thread, mAP 0.046 / AP50 0.162 against 0.003 / 0.014 at batch 8), to fit the suite's 10
minutes on 2 cores."""
import glob
import pickle

import cv2
import pytest

from tests.helpers import evaluate, last_checkpoint, run_tool_main

pytestmark = pytest.mark.slow

CONFIG = 'configs/centernet_dla34_toy.py'
#: the toy detection config's 40 epochs shortened: 6 epochs at batch 4, lr x0.1 after 5
SCHEDULE = [
    'train_cfg.max_epochs=6', 'train_cfg.val_interval=6', 'param_scheduler.0.end=6',
    'param_scheduler.0.milestones=[5]', 'train_dataloader.batch_size=4'
]
#: bbox mAP and AP50 an untrained model stays below (measured, one thread: 0.000 / 0.000
#: after 2 epochs; 0.046 / 0.162 after SCHEDULE, --tta 0.048; 0.198 / 0.517 after the
#: config's 40 epochs at batch 8)
MIN_MAP, MIN_AP50 = 0.02, 0.06


@pytest.fixture(scope='module')
def det_run(tmp_path_factory, toy_det_data):
    """The toy detection config on data seed 0 (conftest.py, shared with
    test_toy_two_stage.py) for SCHEDULE, and its single-scale test with --show-dir and
    --out."""
    root = tmp_path_factory.mktemp('toy_det')
    data = toy_det_data
    ann = data / 'annotations/instances_val.json'
    options = [
        '--cfg-options', *(f'{k}.dataset.data_root={data}/'
                           for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'
    ]
    run_tool_main('tools/train.py', CONFIG, '--work-dir', root / 'work', *options, *SCHEDULE)
    metrics = evaluate(CONFIG, last_checkpoint(root / 'work'), root / 'single', '--show-dir',
                       root / 'vis', '--out', root / 'det.pkl', *options)
    return dict(root=root, data=data, work=root / 'work', options=options, metrics=metrics)


def test_toy_detection_map_above_chance_and_outputs(det_run):
    metrics = det_run['metrics']
    print('toy detection: bbox mAP', metrics['coco/bbox_mAP'], 'AP50', metrics['coco/bbox_mAP_50'])
    assert metrics['coco/bbox_mAP'] >= MIN_MAP and metrics['coco/bbox_mAP_50'] >= MIN_AP50
    root = det_run['root']
    assert len(glob.glob(str(root / 'vis/*.png'))) == 16  # --show-dir: every val image
    assert len(pickle.loads((root / 'det.pkl').read_bytes())) == 16  # --out


def test_toy_detection_tta(det_run):
    """CenterNet's multi-scale + flip test through tools/test.py --tta."""
    metrics = evaluate(CONFIG, last_checkpoint(det_run['work']), det_run['root'] / 'tta', '--tta',
                       *det_run['options'])
    print('toy detection --tta: bbox mAP', metrics['coco/bbox_mAP'])
    assert metrics['coco/bbox_mAP'] >= MIN_MAP


def test_toy_detection_demo_draws_the_boxes(det_run, tmp_path):
    image = det_run['data'] / 'images/val/100003.png'
    out = run_tool_main('demo/image_demo.py', image, CONFIG, last_checkpoint(det_run['work']),
                        '--out-file', tmp_path / 'det.png', '--score-thr', '0.1')
    drawn = out.split(': ')[-1].strip().rstrip(')').split(', ')
    assert drawn and set(drawn) <= {'car', 'person', 'traffic sign', 'traffic light'}, out
    picture = cv2.imread(str(tmp_path / 'det.png'))
    assert picture.shape == (128, 256, 3)
    assert (picture != cv2.imread(str(image))).any()  # boxes drawn
