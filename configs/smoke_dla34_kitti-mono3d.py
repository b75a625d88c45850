# SMOKE (Liu et al., "SMOKE: Single-Stage Monocular 3D Object Detection via Keypoint
# Estimation", CVPRW 2020) in MMDetection3D with mmdla's DLA-34: mmdet3d's own config
# (KITTI mono-3D Pedestrian / Cyclist / Car, 1280x384 affine-resized inputs, Adam 2.5e-4 for
# batch 32 = 4 GPUs x 8, 72 epochs, lr x0.1 at 50) with its DLANet + DLANeck replaced by
# `DLA` (GroupNorm, levels 2..5) and `CenterNetDLANeck` (GroupNorm, deformable convs): the
# same computation and, converted, the same tensors (tools/model_converters/dla2mmdla.py reads
# mmdet3d's SMOKE checkpoints).
# The backbone starts from timm's ImageNet DLA-34 by name (mmdet3d's config names a host that
# no longer serves the file); the GroupNorm layers take the ImageNet BN layers' affine
# parameters, as mmdet3d's loader does. No published mmdla weights for this config.
# Needs mmdet3d (pip install 'mmdla[det3d]' + mmdet3d with --no-deps: README, "Monocular 3D
# detection (SMOKE)"); data as mmdet3d's KITTI (data/kitti, tools/create_data.py kitti).
_base_ = 'mmdet3d::smoke/smoke_dla34_dlaneck_gn-all_4xb8-6x_kitti-mono3d.py'
custom_imports = dict(imports=['mmdla'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='DLA',
        arch='dla34',
        out_indices=(2, 3, 4, 5),
        norm_cfg=dict(type='GN', num_groups=32),
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla34.in1k', prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='CenterNetDLANeck',
        in_channels=(64, 128, 256, 512),
        use_dcn=True,
        norm_cfg=dict(type='GN', num_groups=32)))
# NOTE: mmdet3d's config needs find_unused_parameters=True for its DLANet's never-used
# `project` convs (trees of depth > 1); mmdla's DLA does not build them.
find_unused_parameters = False
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', interval=5, max_keep_ckpts=3, save_last=True))
