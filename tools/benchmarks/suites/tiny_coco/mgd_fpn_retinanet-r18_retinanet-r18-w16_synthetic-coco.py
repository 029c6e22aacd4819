# Peer for the tiny COCO suite: MMRazor's MGD (masked generative distillation: random spatial masks on
# the student's FPN features, a generator block, sum-MSE to the teacher) on the five FPN levels.
# MMRazor's RetinaNet config uses alpha_mgd = 2e-5 on 256 x 100 x 168 P3 maps; the sum-MSE grows with the
# map, so alpha is scaled by the element ratio (4.3M / 16k at P3 of 128x128 with 64 channels): 5e-3.
_base_ = ['../../../../configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py']

model = dict(
    distiller=dict(
        _delete_=True,
        type='PerLevelDistiller',
        num_levels=5,
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        level_connectors=dict(s_mgd=dict(type='MGDConnector', student_channels=64, teacher_channels=64,
                                         lambda_mgd=0.65)),
        level_losses=dict(loss_mgd=dict(type='MGDLoss', alpha_mgd=5e-3)),
        level_mappings=dict(loss_mgd=dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx='level', connector='s_mgd'),
            preds_T=dict(from_student=False, recorder='fpn', data_idx='level')))))
