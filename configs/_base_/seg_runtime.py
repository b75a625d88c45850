# MMSegmentation runtime for the DLA segmentation configs.
default_scope = 'mmseg'
custom_imports = dict(imports=['mmdla'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))  # tools/train.py switches to gloo without CUDA
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook with atomic writes (mmdla.engine.hooks): never a truncated checkpoint
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# The paper's multi-scale test (tools/test.py --tta): per-scale log-softmax, resized, summed.
tta_model = dict(type='DLASegTTAModel')
