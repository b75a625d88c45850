# CenterNet DLA-34 on the synthetic toy street scenes with boxes
# (python tools/misc/make_toy_data.py data/toy_det --task det): cars, persons, traffic signs
# and lights at 128x256. A CPU run of the detection path through tools/train.py and
# tools/test.py [--tta] in a few minutes: from scratch, plain 3x3 convs in the neck
# (use_dcn=False; CenterNet's deformable neck is configs/centernet_dla34_coco.py).
_base_ = './centernet_dla34_coco.py'
data_root = 'data/toy_det/'
classes = ('car', 'person', 'traffic sign', 'traffic light')
model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(use_dcn=False),
    bbox_head=dict(num_classes=len(classes)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# NOTE: the toy data loads in the main process (num_workers=0): with a worker forked afresh
# every epoch, each training step on 2 CPU cores took ~1.5x as long (copy-on-write faults of
# the training process's memory while the worker lives).
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        metainfo=dict(classes=classes),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=2e-3))
max_epochs = 40
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[30], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=6), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=8)
