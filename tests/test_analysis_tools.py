"""The picture tools and small misc tools on real runs and hand-made predictions:
tools/analysis_tools/{analyze_logs,confusion_matrix,browse_dataset}.py,
tools/misc/{print_config,publish_model}.py and tools/train.py --tensorboard.

One module-scoped fixture trains the toy segmentation config for 4 iterations (with
--tensorboard) and the toy classification config for 2 epochs; the logs, checkpoints and
test outputs of these runs feed the tools."""
import glob
import hashlib
import json
import os
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from tests.helpers import (ROOT, SMALL_SEG, SMALL_SEG_DICT, data_root_options, load_tool,
                           logged_scalars, run_and_expect_error)

make_toy_data = load_tool('tools/misc/make_toy_data.py')
analyze_logs = load_tool('tools/analysis_tools/analyze_logs.py')
confusion_matrix = load_tool('tools/analysis_tools/confusion_matrix.py')
browse_dataset = load_tool('tools/analysis_tools/browse_dataset.py')
print_config = load_tool('tools/misc/print_config.py')
publish_model = load_tool('tools/misc/publish_model.py')
eval_tool = load_tool('tools/test.py')

SEG_CONFIG = str(ROOT / 'configs/dla34_toy.py')
CLS_CONFIG = str(ROOT / 'configs/dla46_c_toy_cls.py')
DET_CONFIG = str(ROOT / 'configs/centernet_dla34_toy.py')
SEG_ITERS, CLS_ITERS_PER_EPOCH = 4, 2


def _train(config, work, options):
    # the two runs share the two cores: one thread each (no oversubscription)
    return subprocess.Popen(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(work), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Toy data of the three tasks; a 4-iteration segmentation run (--tensorboard, validated
    at iterations 2 and 4) and a 2-epoch classification run (2 iterations per epoch)."""
    root = tmp_path_factory.mktemp('analysis')
    seg, cls, det = root / 'toy', root / 'toy_cls', root / 'toy_det'
    make_toy_data.main([str(seg), '--num-train', '4', '--num-val', '2'])
    make_toy_data.main([str(cls), '--task', 'cls', '--num-train', '4', '--num-val', '2'])
    make_toy_data.main([str(det), '--task', 'det', '--num-train', '2', '--num-val', '1'])
    seg_run = _train(SEG_CONFIG, root / 'seg', [
        '--tensorboard', '--cfg-options', *data_root_options(seg), *SMALL_SEG,
        f'train_cfg.max_iters={SEG_ITERS}', 'train_cfg.val_interval=2',
        'default_hooks.logger.interval=1', f'default_hooks.checkpoint.interval={SEG_ITERS}'
    ])
    cls_run = _train(CLS_CONFIG, root / 'cls', [
        '--cfg-options', *data_root_options(cls), 'train_cfg.max_epochs=2',
        'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
        'train_dataloader.batch_size=8'
    ])
    for proc in (seg_run, cls_run):
        out = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, out[-3000:]
    return dict(
        root=root,
        seg_data=seg,
        cls_data=cls,
        det_data=det,
        seg_work=root / 'seg',
        cls_work=root / 'cls',
        seg_ckpt=str(root / 'seg' / f'iter_{SEG_ITERS}.pth'),
        cls_ckpt=str(root / 'cls' / 'epoch_2.pth'))


def assert_picture(path, min_size=(100, 100), min_colours=20):
    """The file is a PNG with real content: decodes, large enough, many colours."""
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n', path
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] >= min_size[0] and \
        image.shape[1] >= min_size[1], (path, None if image is None else image.shape)
    colours = len(np.unique(image.reshape(-1, 3), axis=0))
    assert colours >= min_colours, (path, colours)
    return image


# ----------------------------------------------------------------------------------------
# TensorBoard


def test_tensorboard_events_hold_the_logged_losses(runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = glob.glob(str(runs['seg_work'] / '*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1, events
    accumulator = EventAccumulator(os.path.dirname(events[0]))
    accumulator.Reload()
    assert {'loss', 'lr', 'mIoU'} <= set(accumulator.Tags()['scalars'])
    logged = {r['step']: r['loss'] for r in logged_scalars(runs['seg_work']) if 'loss' in r}
    assert sorted(logged) == list(range(1, SEG_ITERS + 1))  # LocalVisBackend kept
    board = {e.step: e.value for e in accumulator.Scalars('loss')}
    assert sorted(board) == sorted(logged)
    for step, loss in logged.items():
        assert board[step] == pytest.approx(loss, rel=1e-6)  # float32 in the events file
    assert [e.step for e in accumulator.Scalars('mIoU')] == [2, 4]


def test_add_tensorboard_keeps_local_backend_and_cfg_options_recipe():
    from mmdla.engine import add_tensorboard, load_config
    for config in (SEG_CONFIG, CLS_CONFIG, DET_CONFIG):
        cfg = add_tensorboard(add_tensorboard(load_config(config)))  # twice: added once
        assert [b['type'] for b in cfg.visualizer.vis_backends
                ] == ['LocalVisBackend', 'TensorboardVisBackend'], config
    # the README's --cfg-options recipe (replaces the json backend, see the README)
    cfg = load_config(SEG_CONFIG, {'visualizer.vis_backends.0.type': 'TensorboardVisBackend'})
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['TensorboardVisBackend']


# ----------------------------------------------------------------------------------------
# analyze_logs.py


def test_analyze_logs_overlays_runs(runs, tmp_path, capsys):
    out = tmp_path / 'curves.png'
    cls_run_dir = glob.glob(str(runs['cls_work'] / '2*'))[0]  # WORK/<timestamp>
    curves = analyze_logs.main([
        str(runs['seg_work']), cls_run_dir, '--keys', 'loss', 'lr', 'mIoU', 'accuracy/top1',
        '--out',
        str(out)
    ])
    assert list(curves) == ['seg', 'cls']  # default legend: the work dirs' names
    lines = logged_scalars(runs['seg_work'])
    losses = [r['loss'] for r in lines if 'loss' in r]
    assert curves['seg']['loss'] == (list(range(1, SEG_ITERS + 1)), losses)
    assert curves['seg']['lr'] == (list(range(1, SEG_ITERS + 1)),
                                   [r['lr'] for r in lines if 'lr' in r])
    assert curves['seg']['mIoU'] == ([2, 4], [r['mIoU'] for r in lines if 'mIoU' in r])
    # epoch-based run: validation after epoch e at its last iteration (2 per epoch)
    cls_lines = logged_scalars(runs['cls_work'])
    assert curves['cls']['accuracy/top1'] == ([CLS_ITERS_PER_EPOCH, 2 * CLS_ITERS_PER_EPOCH], [
        r['accuracy/top1'] for r in cls_lines if 'accuracy/top1' in r
    ])
    assert curves['cls']['loss'][0] == [1, 2, 3, 4]
    assert 'mIoU' not in curves['cls']
    stdout = capsys.readouterr().out
    assert f'seg loss: {SEG_ITERS} points, iterations 1-{SEG_ITERS}, first {losses[0]:.4g}' \
        in stdout
    image = assert_picture(out, min_size=(600, 700), min_colours=50)
    # four panels stacked (loss, lr, mIoU, top-1): the seg run's colour (matplotlib's C0,
    # blue) is drawn in the mIoU panel and not in the top-1 one, the cls run's (C1, orange)
    # the other way round
    b, g, r = np.moveaxis(image.astype(int), -1, 0)
    blue = (b > 140) & (r < 100) & (g > 70) & (g < 160)
    orange = (r > 200) & (g > 80) & (g < 180) & (b < 100)
    panel = image.shape[0] // 4
    miou, top1 = slice(2 * panel, 3 * panel), slice(3 * panel, None)
    assert blue[miou].sum() > 200 and orange[top1].sum() > 200, (blue[miou].sum(),
                                                                 orange[top1].sum())
    assert orange[miou].sum() < 0.2 * orange[top1].sum()  # (its legend marker only)
    assert blue[top1].sum() < 0.2 * blue[miou].sum()

    # a json file and a work dir name the same run; --legend names the runs
    seg_json = glob.glob(str(runs['seg_work'] / '*/vis_data/scalars.json'))[0]
    again = analyze_logs.main([
        seg_json,
        str(runs['seg_work']), '--legend', 'a', 'b', '--keys', 'loss', 'mIoU', '--out',
        str(tmp_path / 'two.png')
    ])
    assert again['a'] == again['b']
    assert again['a']['loss'] == curves['seg']['loss']


def test_analyze_logs_joins_resumed_runs(tmp_path):
    """A work dir with a run, its --resume continuation (from iteration 2: iteration 3 is
    logged twice, the later value counts) and a tools/test.py run (no json in vis_data)."""

    def run(stamp, lines):
        os.makedirs(tmp_path / stamp / 'vis_data')
        with open(tmp_path / stamp / 'vis_data' / 'scalars.json', 'w') as f:
            f.writelines(json.dumps(line) + '\n' for line in lines)

    run('20260101_000000', [
        dict(lr=0.1, loss=3.0, iter=1, step=1),
        dict(lr=0.1, loss=2.0, iter=2, step=2),
        dict(mIoU=10.0, step=2),
        dict(lr=0.1, loss=1.5, iter=3, step=3)
    ])
    run('20260101_010000', [
        dict(lr=0.1, loss=1.25, iter=3, step=3),
        dict(lr=0.1, loss=1.0, iter=4, step=4),
        dict(mIoU=20.0, step=4)
    ])
    os.makedirs(tmp_path / '20260101_020000' / 'vis_data')  # a test run: config.py only
    (tmp_path / '20260101_020000' / '20260101_020000.json').write_text('{"mIoU": 99.0}\n')
    curves = analyze_logs.main(
        [str(tmp_path), '--keys', 'loss', 'mIoU', '--out',
         str(tmp_path / 'c.png')])[tmp_path.name]
    assert curves['loss'] == ([1, 2, 3, 4], [3.0, 2.0, 1.25, 1.0])
    assert curves['mIoU'] == ([2, 4], [10.0, 20.0])


def test_analyze_logs_bad_input(runs, tmp_path, capsys):
    out = str(tmp_path / 'x.png')
    err = run_and_expect_error(analyze_logs,
                               [str(runs['seg_work']), '--keys', 'top5', '--out', out], capsys)
    assert "no log has 'top5'" in err and 'loss' in err and 'mIoU' in err
    err = run_and_expect_error(analyze_logs,
                               [str(runs['seg_work']), '--legend', 'a', 'b', '--out', out], capsys)
    assert '--legend has 2 names for 1 logs' in err
    err = run_and_expect_error(analyze_logs, [str(tmp_path / 'none'), '--out', out], capsys)
    assert 'does not exist' in err
    assert not os.path.exists(out)


# ----------------------------------------------------------------------------------------
# confusion_matrix.py: hand-made predictions with known matrices


def write_seg_set(root):
    """Two 2x4 Cityscapes-layout images with hand-made label maps (0 road, 1 sidewalk,
    2 building, 255 ignore) and predictions (10 sky, 13 car; 255 on an ignored pixel)."""
    gts = {'a': [[0, 0, 1, 255], [2, 2, 1, 0]], 'b': [[1, 1, 1, 255], [0, 2, 2, 2]]}
    preds = {'a': [[0, 1, 1, 13], [2, 10, 1, 0]], 'b': [[1, 0, 1, 255], [0, 2, 2, 10]]}
    for split in ('train', 'val'):
        os.makedirs(root / 'leftImg8bit' / split / 'c')
        os.makedirs(root / 'gtFine' / split / 'c')
        for name, gt in gts.items():
            cv2.imwrite(
                str(root / 'leftImg8bit' / split / 'c' / f'{name}_leftImg8bit.png'),
                np.full((2, 4, 3), 100, np.uint8))
            cv2.imwrite(
                str(root / 'gtFine' / split / 'c' / f'{name}_gtFine_labelTrainIds.png'),
                np.array(gt, np.uint8))
    os.makedirs(root / 'pred')
    for name, pred in preds.items():  # named as tools/test.py --out names them
        cv2.imwrite(str(root / 'pred' / f'{name}_leftImg8bit.png'), np.array(pred, np.uint8))
    return root / 'pred'


def test_confusion_matrix_segmentation_hand_made(tmp_path, capsys):
    pred_dir = write_seg_set(tmp_path)
    out = tmp_path / 'cm.png'
    options = ['--cfg-options', *data_root_options(tmp_path, ['test_dataloader'])]
    result = confusion_matrix.main(
        [SEG_CONFIG, str(pred_dir), '--out',
         str(out), '--only-present', *options])
    expected = np.zeros((19, 19), np.int64)
    # rows: ground truth road, sidewalk, building; columns: prediction (ignore excluded)
    expected[0, 0], expected[0, 1] = 3, 1
    expected[1, 0], expected[1, 1] = 1, 4
    expected[2, 2], expected[2, 10] = 3, 2
    assert (result['counts'] == expected).all()
    assert (np.load(tmp_path / 'cm.npy') == expected).all()
    assert result['shown'] == ['road', 'sidewalk', 'building', 'sky']
    percent = result['percent']
    np.testing.assert_allclose(percent[:3], [[75, 25, 0, 0], [20, 80, 0, 0], [0, 0, 60, 40]])
    assert np.isnan(percent[3]).all()  # sky: predicted, never in the ground truth
    assert result['accuracy'] == pytest.approx(100 * 10 / 14)
    # mmseg's IoU: road 3/5, sidewalk 4/6, building 3/5, sky 0/2 (union > 0: counted)
    assert result['mIoU'] == pytest.approx(100 * (0.6 + 4 / 6 + 0.6 + 0) / 4)
    assert 'pixel accuracy 71.43, mIoU 46.67' in capsys.readouterr().out
    assert_picture(out, min_size=(300, 300), min_colours=30)

    os.remove(pred_dir / 'b_leftImg8bit.png')
    err = run_and_expect_error(
        confusion_matrix,
        [SEG_CONFIG, str(pred_dir), '--out', str(out), *options], capsys)
    assert 'no prediction for 1 of the 2 test images (e.g. b_leftImg8bit.png)' in err
    err = run_and_expect_error(
        confusion_matrix,
        [DET_CONFIG, str(pred_dir), '--out', str(out)], capsys)
    assert 'is a detection config: confusion_matrix.py is for segmentation and' in err


def test_confusion_matrix_classification_hand_made(tmp_path, capsys):
    classes = ['checker', 'disc', 'hstripes', 'vstripes']  # the toy classes (folder order)
    for name in classes:
        os.makedirs(tmp_path / 'val' / name)
        cv2.imwrite(str(tmp_path / 'val' / name / '0.png'), np.zeros((8, 8, 3), np.uint8))
    pairs = [(0, 0), (0, 0), (0, 1), (1, 1), (2, 3), (2, 2), (3, 3), (3, 3)]
    records = [dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p])) for g, p in pairs]
    records.append(
        dict(
            gt_label=torch.tensor([1]),  # scores only: argmax = 2
            pred_score=torch.tensor([0.1, 0.2, 0.6, 0.1])))
    (tmp_path / 'preds.pkl').write_bytes(pickle.dumps(records))
    out = tmp_path / 'cm.png'
    result = confusion_matrix.main([
        CLS_CONFIG,
        str(tmp_path / 'preds.pkl'), '--out',
        str(out), '--cfg-options', *data_root_options(tmp_path, ['test_dataloader'])
    ])
    assert result['classes'] == classes
    assert result['counts'].tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 2]]
    np.testing.assert_allclose(
        result['percent'],
        [[200 / 3, 100 / 3, 0, 0], [0, 50, 50, 0], [0, 0, 50, 50], [0, 0, 0, 100]])
    assert result['accuracy'] == pytest.approx(100 * 6 / 9)
    assert 'accuracy 66.67' in capsys.readouterr().out
    assert_picture(out, min_size=(300, 300), min_colours=30)


# ----------------------------------------------------------------------------------------
# confusion_matrix.py on tools/test.py outputs and on checkpoints: the test's metrics


def test_confusion_matrix_from_test_outputs_and_checkpoints(runs, tmp_path):
    # (load_config drops the config's persistent_workers with num_workers=0)
    in_process = ['test_dataloader.num_workers=0']
    seg_opts = [
        '--cfg-options', *data_root_options(runs['seg_data'], ['test_dataloader']), *SMALL_SEG,
        *in_process
    ]
    cls_opts = [
        '--cfg-options', *data_root_options(runs['cls_data'], ['test_dataloader']), *in_process
    ]
    seg_metrics = eval_tool.main([
        SEG_CONFIG, runs['seg_ckpt'], '--work-dir',
        str(tmp_path / 'seg'), '--out',
        str(tmp_path / 'maps'), *seg_opts
    ])
    cls_metrics = eval_tool.main([
        CLS_CONFIG, runs['cls_ckpt'], '--work-dir',
        str(tmp_path / 'cls'), '--out',
        str(tmp_path / 'p.pkl'), *cls_opts
    ])
    seg = {
        source:
        confusion_matrix.main(
            [SEG_CONFIG, source, '--out',
             str(tmp_path / f'seg_{i}.png'), *seg_opts])
        for i, source in enumerate([str(tmp_path / 'maps'), runs['seg_ckpt']])
    }
    cls = {
        source:
        confusion_matrix.main(
            [CLS_CONFIG, source, '--out',
             str(tmp_path / f'cls_{i}.png'), *cls_opts])
        for i, source in enumerate([str(tmp_path / 'p.pkl'), runs['cls_ckpt']])
    }
    (maps, run_seg), (pkl, run_cls) = seg.values(), cls.values()
    assert (maps['counts'] == run_seg['counts']).all()
    assert (pkl['counts'] == run_cls['counts']).all()
    labelled = sum(
        int((cv2.imread(p, cv2.IMREAD_UNCHANGED) != 255).sum())
        for p in glob.glob(str(runs['seg_data'] / 'gtFine/val/*/*.png')))
    assert maps['counts'].sum() == labelled > 0  # every labelled pixel, once
    assert pkl['counts'].sum() == 4 * 2  # 4 classes x 2 val images
    assert round(maps['mIoU'], 2) == pytest.approx(seg_metrics['mIoU'], abs=0.011)
    assert round(maps['accuracy'], 2) == pytest.approx(seg_metrics['aAcc'], abs=0.011)
    assert pkl['accuracy'] == pytest.approx(cls_metrics['accuracy/top1'], abs=1e-3)


# ----------------------------------------------------------------------------------------
# browse_dataset.py


def test_browse_dataset_segmentation(runs, tmp_path):
    from mmseg.datasets import CityscapesDataset
    drawn = browse_dataset.main([
        SEG_CONFIG, '--output-dir',
        str(tmp_path), '--not-show', '--max', '2', '--cfg-options',
        *data_root_options(runs['seg_data'], ['train_dataloader'])
    ])
    assert len(drawn) == 2 and sorted(os.listdir(tmp_path)) == [
        '0000_toycity_000000_000019_leftImg8bit.png', '0001_toycity_000001_000019_leftImg8bit.png'
    ]
    palette = np.array(CityscapesDataset.METAINFO['palette'] + [[0, 0, 0]], np.float32)
    for sample in drawn:
        picture = assert_picture(sample['file'], min_size=(64, 128))[..., ::-1]  # RGB
        # the training crop: 128x256, smaller when RandomResize scaled the scene down
        assert picture.shape == sample['image'].shape and picture.shape[0] <= 128 and \
            picture.shape[1] <= 256, picture.shape
        gt = sample['data_sample'].gt_sem_seg.data[0]
        assert gt.shape == picture.shape[:2]
        # the label map in the Cityscapes palette at opacity 0.5 over the augmented image
        # (ignore: black); the class-name boxes cover the rest
        colour = palette[np.where(gt == 255, 19, gt)]
        expected = (sample['image'] * 0.5 + colour * 0.5).astype(np.uint8)
        close = (np.abs(picture.astype(int) - expected).max(-1) <= 1).mean()
        assert close > 0.85, close


def test_browse_dataset_classification_and_detection(runs, tmp_path, capsys):
    drawn = browse_dataset.main([
        CLS_CONFIG, '--output-dir',
        str(tmp_path / 'cls'), '--not-show', '--max', '2', '--cfg-options',
        *data_root_options(runs['cls_data'], ['train_dataloader'])
    ])
    classes = ['checker', 'disc', 'hstripes', 'vstripes']
    for sample in drawn:
        picture = assert_picture(sample['file'], min_size=(224, 224))
        assert picture.shape == (224, 224, 3)  # 64x64 enlarged so the label is readable
        label = int(sample['data_sample'].gt_label[0])
        folder = os.path.basename(os.path.dirname(sample['data_sample'].img_path))
        assert classes[label] == folder  # the class drawn is the image's class
        image = cv2.resize(sample['image'], (224, 224))[..., ::-1]
        assert (picture != image).any(-1)[:30].mean() > 0.3  # the label box (top left)

    drawn = browse_dataset.main([
        DET_CONFIG, '--output-dir',
        str(tmp_path / 'det'), '--not-show', '--cfg-options',
        *data_root_options(runs['det_data'], ['train_dataloader'])
    ])
    assert 'drew 2 of 2 training samples' in capsys.readouterr().out
    for sample in drawn:
        picture = assert_picture(sample['file'], min_size=(128, 256))[..., ::-1]
        boxes = sample['data_sample'].gt_instances.bboxes.numpy()
        assert len(boxes) > 0
        changed = (picture != sample['image']).any(-1)
        for x1, y1, x2, y2 in boxes.round().astype(int):  # each box's left edge is drawn
            edge = changed[max(y1, 0):min(y2, 127) + 1, min(max(x1, 0), 255)]
            assert edge.mean() > 0.5, (x1, y1, x2, y2)
    capsys.readouterr()
    err = run_and_expect_error(browse_dataset, [SEG_CONFIG, '--not-show'], capsys)
    assert '--output-dir' in err
    if not browse_dataset.can_show():  # headless (CI): a window would wait forever
        err = run_and_expect_error(browse_dataset, [SEG_CONFIG], capsys)
        assert 'no display' in err


# ----------------------------------------------------------------------------------------
# print_config.py, publish_model.py


@pytest.mark.parametrize(
    'config,key,resolved',
    [
        (SEG_CONFIG, 'train_cfg.max_iters=7', "type='DLAUpHead'"),
        (CLS_CONFIG, 'train_cfg.max_epochs=7', "type='LinearClsHead'"),
        (DET_CONFIG, 'train_cfg.max_epochs=7', "type='CenterNetHead'"),  # an mmdet:: base
    ])
def test_print_config(config, key, resolved, tmp_path, capsys):
    saved = tmp_path / 'final.py'
    print_config.main([config, '--cfg-options', key, '--save', str(saved)])
    out = capsys.readouterr().out
    name = key.split('.')[1].split('=')[0]
    assert out.startswith('Config:\n') and resolved in out and f'{name}=7' in out
    from mmengine.config import Config
    cfg = Config.fromfile(str(saved))  # a config on its own (no _base_)
    assert cfg.train_cfg[name] == 7 and '_base_' not in saved.read_text()


def test_publish_model(runs, tmp_path, capsys):
    source = runs['seg_ckpt']
    before = hashlib.sha256(open(source, 'rb').read()).hexdigest()
    final = publish_model.main([source, str(tmp_path / 'dla34_toy.pth')])
    digest = hashlib.sha256(open(final, 'rb').read()).hexdigest()
    assert final == str(tmp_path / f'dla34_toy-{digest[:8]}.pth')
    assert os.listdir(tmp_path) == [os.path.basename(final)]  # no temporary file left
    assert hashlib.sha256(open(source, 'rb').read()).hexdigest() == before  # IN unchanged
    assert 'dropped message_hub, optimizer, param_schedulers' in capsys.readouterr().out
    original = torch.load(source, map_location='cpu', weights_only=False)
    published = torch.load(final, map_location='cpu', weights_only=True)
    assert set(published) == {'state_dict', 'meta'}
    assert published['meta'] == original['meta']
    assert published['state_dict'].keys() == original['state_dict'].keys()
    assert all(
        torch.equal(published['state_dict'][k], v) for k, v in original['state_dict'].items())
    assert os.path.getsize(final) < 0.6 * os.path.getsize(source)  # SGD momentum dropped
    # the same weights give the same file under any name
    os.mkdir(tmp_path / 'again')
    again = publish_model.main([source, str(tmp_path / 'again' / 'other.pth')])
    assert again.endswith(f'other-{digest[:8]}.pth')
    from mmdla.apis import init_model  # loads strictly into the config's model
    init_model(SEG_CONFIG, final, cfg_options=SMALL_SEG_DICT)
    capsys.readouterr()
    err = run_and_expect_error(publish_model, [source, source], capsys)
    assert 'is IN' in err
