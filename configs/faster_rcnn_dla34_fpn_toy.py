# Faster R-CNN + FPN with DLA-34 on the synthetic toy street scenes with boxes
# (python tools/misc/make_toy_data.py data/toy_det --task det): cars, persons, traffic signs
# and lights at 128x256. A CPU run of the two-stage detection path through tools/train.py
# and tools/test.py in a few minutes: from scratch (no frozen stages, BN in training mode),
# a toy-sized head (128-channel FPN / RPN / RoI features, 256-wide fcs: half the step time
# of COCO's 256 / 1024 and learned as fast), anchors 4x smaller than COCO's (scale 2:
# 8..128 pixels on strides 4..64; the toy objects are 5-50 pixels), fewer proposals and RoI
# samples, AdamW lr 3e-4 with gradient clipping, lr x0.1 at 6 and 9 of 12 epochs.
# Measured (one thread, 3 epochs; bbox AP50): SGD lr 0.02-0.04 0.000; AdamW 1e-3 0.009;
# a 64-channel FPN did not learn. Held at 3e-4 to epoch 10 the gradients grew from epoch 7
# on and AP50 fell (0.021 after 12 epochs against 0.047 with the decay at 6 and 9).
_base_ = './faster_rcnn_dla34_fpn_1x_coco.py'
data_root = 'data/toy_det/'
classes = ('car', 'person', 'traffic sign', 'traffic light')
channels = 128  # FPN, RPN and RoI features (COCO: 256)
model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels, anchor_generator=dict(scales=[2])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=256, num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
# NOTE: the toy data loads in the main process (num_workers=0), as in
# configs/centernet_dla34_toy.py (a worker forked every epoch slows the steps on 2 cores).
train_dataloader = dict(
    batch_size=4,
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
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=3e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6, 9], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=6), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=4)
