# FGVC-Aircraft (Planes, 100 variants, 6667 trainval / 3333 test) with mmpretrain's
# FGVCAircraft: data/fgvc_aircraft/data/{images/, images_variant_trainval.txt,
# images_variant_test.txt, variants.txt}
_base_ = './fine_grained.py'
num_classes = 100
data_root = 'data/fgvc_aircraft'
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FGVCAircraft',
        data_root=data_root,
        split='trainval',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FGVCAircraft',
        data_root=data_root,
        split='test',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
