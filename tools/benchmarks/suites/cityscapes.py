# Full-scale Cityscapes suite: DeepLabV3-R101 (mmseg 80k) teaching DeepLabV3-MobileNetV2, DeepLabV3-R18 and
# PSPNet-R18 at 512x1024, mmseg's 80k schedule (4 GPUs x 2 images), with our methods and MMRazor's CWD on
# logits (tools/benchmarks/suites/cityscapes/). Not run in this repository (no GPUs).
#   python tools/benchmarks/accuracy.py tools/benchmarks/suites/cityscapes.py --seeds 3 --launcher pytorch --gpus 4
# The paper's numbers come from the CIRKD codebase (40k iterations, 16 images, weaker baselines), so
# compare gains: each target gives the paper's own baseline. Hours: rough estimates on 4 V100-class GPUs.
metric = 'mIoU'
launcher = dict(kind='pytorch', gpus=4, hours_per_run=14)
acam_notes = 'ACAM-KD, ICCV 2025 (relayed by third-party notes; CIRKD codebase)'
teacher = dict(
    config='mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py',
    checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth')  # noqa: E501
pairs = dict(
    deeplabv3_mbv2=dict(
        teacher=teacher,
        student=dict(config='mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py',
                     label='DeepLabV3-MobileNetV2 alone', hours=8,
                     target=dict(value=73.84, source='mmseg 1.2.2 model zoo')),
        variants=dict(
            acam_kd=dict(
                config='configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-mbv2-d8_80k_cityscapes-512x1024.py',  # noqa: E501
                label='ACAM-KD', target=dict(value=76.21, baseline=73.12, source=acam_notes)),
            uskd=dict(config='configs/uskd/uskd_deeplabv3-mobilenet-v2-d8_80k_cityscapes-512x1024.py',
                      label='USKD (no teacher)', hours=8),
            pskd=dict(config='configs/pskd/pskd_deeplabv3-mobilenet-v2-d8_80k_cityscapes-512x1024.py',
                      label='PS-KD (no teacher)', hours=10),
            cwd=dict(
                config='tools/benchmarks/suites/cityscapes/cwd_logits_deeplabv3-r101-d8_deeplabv3-mbv2-d8_80k_cityscapes-512x1024.py',  # noqa: E501
                label='MMRazor CWD, logits', peer=True))),
    deeplabv3_r18=dict(
        teacher=teacher,
        student=dict(config='mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py',
                     label='DeepLabV3-R18 alone', hours=8, target=dict(value=76.7, source='mmseg 1.2.2 model zoo')),
        variants=dict(
            acam_kd=dict(
                config='configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',  # noqa: E501
                label='ACAM-KD', target=dict(value=77.53, baseline=72.96, source=acam_notes)),
            nkd=dict(config='configs/nkd/nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
                     label='NKD'),
            uskd=dict(config='configs/uskd/uskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
                      label='USKD (no teacher)', hours=8),
            pskd=dict(config='configs/pskd/pskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
                      label='PS-KD (no teacher)', hours=10),
            cwd=dict(
                config='tools/benchmarks/suites/cityscapes/cwd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',  # noqa: E501
                label='MMRazor CWD, logits', peer=True))),
    pspnet_r18=dict(
        teacher=teacher,
        student=dict(config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
                     label='PSPNet-R18 alone', hours=8, target=dict(value=74.87, source='mmseg 1.2.2 model zoo')),
        variants=dict(
            acam_kd=dict(
                config='configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_pspnet-r18-d8_80k_cityscapes-512x1024.py',  # noqa: E501
                label='ACAM-KD', target=dict(value=75.99, baseline=72.55, source=acam_notes)),
            nkd=dict(config='configs/nkd/nkd_logits_deeplabv3-r101-d8_pspnet-r18-d8_80k_cityscapes-512x1024.py',
                     label='NKD'),
            cwd=dict(
                config='tools/benchmarks/suites/cityscapes/cwd_logits_deeplabv3-r101-d8_pspnet-r18-d8_80k_cityscapes-512x1024.py',  # noqa: E501
                label='MMRazor CWD, logits', peer=True))),
)
