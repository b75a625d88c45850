# CenterNet DLA-34 (Zhou et al., "Objects as Points"; xingyizhou/CenterNet ctdet_coco_dla_1x)
# in MMDetection: DLA-34 levels 2..5 + CenterNetDLANeck (CenterNet's deformable IDA-Up) +
# mmdet's CenterNetHead with head_conv 256. Built on mmdet's own CenterNet config (COCO data,
# RandomCenterCropPad scale 0.6-1.3 + shift, flip, photometric distortion, 512x512 crops,
# CocoMetric) with CenterNet's recipe: Adam lr 5e-4 for batch 128 (8 GPUs x 16), 140
# epochs, lr x0.1 at 90 and 120, no warm-up, no gradient clipping.
# Backbone from timm's ImageNet weights by name (hf-hub:timm/dla34.in1k: downloaded once
# into the Hugging Face cache, converted in memory); a local file in any layout works too:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
# CenterNet's released ctdet_coco_dla_1x.pth (its MODEL_ZOO's Google Drive link; no stable
# URL) loads as it is, converted in memory: tools/test.py CONFIG ctdet_coco_dla_1x.pth
# (--tta: CenterNet's flip + multi-scale test).
_base_ = 'mmdet::centernet/centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'
custom_imports = dict(imports=['mmdla'], allow_failed_imports=False)
model = dict(
    # CenterNet normalises BGR images with its COCO statistics (no RGB conversion)
    data_preprocessor=dict(
        mean=[0.40789654 * 255, 0.44719302 * 255, 0.47026115 * 255],
        std=[0.28863828 * 255, 0.27408164 * 255, 0.27809835 * 255],
        bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='DLA',
        arch='dla34',
        out_indices=(2, 3, 4, 5),
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla34.in1k', prefix='backbone.')),
    neck=dict(
        _delete_=True, type='CenterNetDLANeck', in_channels=(64, 128, 256, 512), use_dcn=True),
    bbox_head=dict(in_channels=64, feat_channels=256))
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root='data/coco/',
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4))
max_epochs = 140
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(
        type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[90, 120], gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', interval=10, max_keep_ckpts=3, save_last=True))
auto_scale_lr = dict(base_batch_size=128)
# CenterNet's test-time augmentation (tools/test.py --tta): scales 0.5-1.5, each with the
# flip test (averaged heatmaps and sizes), scales merged by soft-NMS
tta_model = dict(_delete_=True, type='CenterNetTTAModel', flip=True)
tta_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='Resize', scale_factor=s, keep_ratio=True)
            for s in (0.5, 0.75, 1.0, 1.25, 1.5)
        ],
                    [
                        dict(
                            type='RandomCenterCropPad',
                            ratios=None,
                            border=None,
                            mean=[0, 0, 0],
                            std=[1, 1, 1],
                            to_rgb=True,
                            test_mode=True,
                            test_pad_mode=['logical_or', 31],
                            test_pad_add_pix=1)
                    ], [dict(type='LoadAnnotations', with_bbox=True)],
                    [
                        dict(
                            type='PackDetInputs',
                            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                       'scale_factor', 'border'))
                    ]])
]
