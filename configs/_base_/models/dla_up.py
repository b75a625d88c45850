# DLA-34 + DLA-Up (down_ratio 2), 19 classes: the paper's segmentation network.
# Synchronized BN as in the paper; single-process runs (and CPU runs) use plain BN
# (MMEngine reverts SyncBN when not distributed).
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # official Cityscapes statistics (of 0-1 RGB pixels), scaled to 0-255
    mean=[0.290101 * 255, 0.328081 * 255, 0.286964 * 255],
    std=[0.182954 * 255, 0.186566 * 255, 0.184475 * 255],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)  # configs set size=crop_size (training batches padded to it)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='DLA', arch='dla34', norm_cfg=norm_cfg),
    decode_head=dict(
        type='DLAUpHead',
        in_channels=[32, 64, 128, 256, 512],  # levels 1..5 (strides 2..32)
        down_ratio=2,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        # the official NLLLoss on log-softmax, averaged over non-ignored pixels
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
