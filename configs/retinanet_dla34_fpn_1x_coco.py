# RetinaNet with a DLA-34 backbone on COCO: mmdet's retinanet_r50_fpn_1x_coco (FPN from
# stride 8 (start_level=1) with two extra strided convs on the last input (on_input),
# RetinaHead with focal loss, COCO data at 1333x800 with flip, SGD lr 0.01 for batch 16
# (8 GPUs x 2), 12 epochs, lr x0.1 at 8 and 11, CocoMetric) with ResNet-50 replaced by
# DLA-34 levels 2..5 (strides 4..32, 64 / 128 / 256 / 512 channels; the FPN uses 3..5). As
# mmdet's ResNet configs: stem and level0..level1 frozen (frozen_stages=1), BN in eval mode
# (norm_eval) with trainable affine parameters.
# No published weights: this config has not been trained on COCO here.
# Backbone from timm's ImageNet weights by name (hf-hub:timm/dla34.in1k: downloaded once
# into the Hugging Face cache, converted in memory); a local file in any layout works too:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdla'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='DLA',
        arch='dla34',
        out_indices=(2, 3, 4, 5),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla34.in1k', prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
