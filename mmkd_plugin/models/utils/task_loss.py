"""A detector's or segmentor's task loss from features it did not compute itself.

ACAM-KD's online mask mode needs the frozen teacher's task loss on *masked* teacher features. The
OpenMMLab models only offer ``loss(inputs, data_samples)``, which recomputes the features; these
functions run the part of ``loss`` that follows the features, as mmdet 3.3.0 / mmseg 1.2.2 write it.
"""
import copy
from typing import Dict, List, Sequence

from torch import Tensor, nn


def detector_loss_from_features(detector: nn.Module, feats: Sequence[Tensor],
                                data_samples: List) -> Dict[str, Tensor]:
    """The loss of an mmdet detector whose ``extract_feat`` returned ``feats`` (backbone + neck).

    Single-stage detectors: ``bbox_head.loss``. Two-stage detectors: the RPN's loss and proposals
    (``rpn_proposal`` settings, class-agnostic labels) and the RoI head's loss, as
    ``TwoStageDetector.loss`` does after ``extract_feat``.

    Raises:
        TypeError: for a detector that has neither a ``bbox_head`` nor an ``roi_head``.
    """
    if hasattr(detector, 'roi_head'):
        losses = {}
        if getattr(detector, 'with_rpn', False):
            proposal_cfg = detector.train_cfg.get('rpn_proposal', detector.test_cfg.rpn)
            rpn_samples = copy.deepcopy(data_samples)
            for sample in rpn_samples:
                sample.gt_instances.labels = sample.gt_instances.labels.new_zeros(
                    sample.gt_instances.labels.shape)
            rpn_losses, proposals = detector.rpn_head.loss_and_predict(feats, rpn_samples,
                                                                       proposal_cfg=proposal_cfg)
            losses.update({(f'rpn_{k}' if 'loss' in k and 'rpn' not in k else k): v
                           for k, v in rpn_losses.items()})
        else:
            proposals = [sample.proposals for sample in data_samples]
        losses.update(detector.roi_head.loss(feats, proposals, data_samples))
        return losses
    if hasattr(detector, 'bbox_head'):
        return detector.bbox_head.loss(feats, data_samples)
    raise TypeError(f'{type(detector).__name__} has neither a bbox_head nor an roi_head; give the '
                    'masked teacher task loss a recorder source whose output the model re-runs from.')
