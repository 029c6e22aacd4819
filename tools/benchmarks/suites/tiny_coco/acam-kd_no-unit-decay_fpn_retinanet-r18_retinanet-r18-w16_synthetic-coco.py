# ACAM-KD ablation: no weight decay on the mask selection units (m_c, m_s), all else as the demo config.
_base_ = ['../../../../configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py']
optim_wrapper = dict(distiller_paramwise_cfg=dict(custom_keys={'.masks.': dict(decay_mult=0.0)}))
