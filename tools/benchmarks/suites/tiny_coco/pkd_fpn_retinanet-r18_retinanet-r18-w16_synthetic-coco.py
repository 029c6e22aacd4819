# Peer for the tiny COCO suite: MMRazor's PKD (Pearson correlation on standardised FPN features) on the
# five FPN levels, demo teacher RetinaNet-R18 -> quarter-width student. MMRazor's own RetinaNet/Faster
# R-CNN configs use loss_weight 6-10 with its PKDLoss; 6 here.
_base_ = ['../../../../configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py']

model = dict(
    distiller=dict(
        _delete_=True,
        type='PerLevelDistiller',
        num_levels=5,
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        level_losses=dict(loss_pkd=dict(type='PKDLoss', loss_weight=6.0)),
        level_mappings=dict(loss_pkd=dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx='level'),
            preds_T=dict(from_student=False, recorder='fpn', data_idx='level')))))
