# Cityscapes (19 classes, 2975 train / 500 val), mmseg layout under data/cityscapes:
#   leftImg8bit/{train,val}/CITY/*_leftImg8bit.png
#   gtFine/{train,val}/CITY/*_gtFine_labelTrainIds.png  (tools/dataset_converters/cityscapes.py)
# Augmentation of the DLA paper: rotation +-10 deg, random scale [0.5, 2], crop 832, flip,
# colour jitter 0.4. Test at full resolution; tta_pipeline: the paper's five scales.
dataset_type = 'CityscapesDataset'
num_classes = 19  # LoadSegAnnotations rejects label values >= num_classes (but 255)
data_root = 'data/cityscapes/'
crop_size = (832, 832)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSegAnnotations', num_classes=num_classes),
    dict(type='RandomRotate', prob=1.0, degree=10, pad_val=0, seg_pad_val=255),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSegAnnotations', num_classes=num_classes),
    dict(type='PackSegInputs')
]
tta_scales = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in tta_scales],
                    [dict(type='LoadSegAnnotations', num_classes=num_classes)],
                    [dict(type='PackSegInputs')]])
]
train_dataloader = dict(
    batch_size=2,  # x 8 GPUs = the paper's batch 16
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
