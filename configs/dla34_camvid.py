# DLA-34 + DLA-Up on CamVid (11 classes), the paper's recipe: crop 448, batch 16,
# SGD lr 0.01 / momentum 0.9 / wd 1e-4, 1200 epochs with lr x0.1 at epoch 800, same
# augmentation as Cityscapes. The paper gives no CamVid normalisation: ImageNet mean/std.
# Data: python tools/dataset_converters/camvid.py PATH/TO/CamVid -o data/camvid
# Backbone from timm's ImageNet weights by name (hf-hub:timm/dla34.in1k, converted in memory).
_base_ = [
    './_base_/models/dla_up.py', './_base_/datasets/camvid.py', './_base_/seg_runtime.py',
    './_base_/schedules/camvid_1200e.py'
]
crop_size = (448, 448)
model = dict(
    data_preprocessor=dict(
        mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
        std=[0.229 * 255, 0.224 * 255, 0.225 * 255],
        size=crop_size),
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla34.in1k', prefix='backbone.')),
    decode_head=dict(num_classes=11))
