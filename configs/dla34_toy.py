# DLA-34 + DLA-Up on the synthetic toy street scenes (tools/misc/make_toy_data.py data/toy):
# the CPU-sized version of dla34_cityscapes.py that the README's first command runs.
# Same model, augmentation and multi-scale test; from scratch (no ImageNet weights can be
# downloaded here), plain BN, whole-width 128x256 crops of the 128x256 scenes (batch 2),
# a short poly schedule and class-balanced cross-entropy (the thin / rare classes - pole,
# traffic light, traffic sign, terrain, person - are 0.4-2.6 % of the pixels and stay at
# 0 IoU in so short a schedule without it).
_base_ = ['./_base_/models/dla_up.py', './_base_/datasets/cityscapes.py', './_base_/seg_runtime.py']
data_root = 'data/toy/'
num_classes = 19
crop_size = (128, 256)  # the whole scene width: full street layout in every crop
batch_size = 2
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        norm_cfg=norm_cfg,
        # ENet-style class weights 1 / ln(1.02 + p_c) (p_c: pixel frequency in the toy train
        # scenes), relative to road; 1 for the classes the toy scenes do not contain.
        # mmseg 1.2.2's CrossEntropyLoss cannot average class-weighted losses when a label
        # map holds ignore pixels (IndexError on 255), so the weighted pixel losses are summed
        # and divided by a constant: the ~85 % of the batch's pixels that are not ignored
        # (ego-vehicle band, rotation / scale padding). It is computed from batch_size and
        # crop_size above (a --cfg-options change of the loader's batch size does not follow).
        loss_decode=dict(
            class_weight=[
                1.0, 1.35, 1.0, 1.0, 1.0, 6.0, 9.4, 8.0, 2.6, 4.9, 1.4, 5.6, 1.0, 2.5, 1.0, 1.0,
                1.0, 1.0, 1.0
            ],
            reduction='sum',
            loss_weight=1.0 / (0.85 * batch_size * crop_size[0] * crop_size[1]))))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSegAnnotations', num_classes=num_classes),
    dict(type='RandomRotate', prob=1.0, degree=10, pad_val=0, seg_pad_val=255),
    dict(type='RandomResize', scale=(256, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

max_iters = 500
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=2, save_last=True))
randomness = dict(seed=0, deterministic=True)  # resumable bit-exactly on CPU
