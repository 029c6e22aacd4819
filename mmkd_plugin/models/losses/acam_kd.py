"""ACAM-KD: adaptive and cooperative attention masking, one feature level.

Lan & Tian, "ACAM-KD: Adaptive and Cooperative Attention Masking for Knowledge Distillation",
ICCV 2025 (arXiv 2503.06307). No official code exists. The mask generator (STCA-FF + ASCM) is in
``models/architectures/acam_kd_fusion.py``; the loss normalisation and the Dice term follow MasKD
(hunto/MasKD), which ACAM-KD builds on. Open choices E1-E8: ``docs/methods/acam_kd.md``.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmrazor.registry import MODELS
from torch import Tensor, nn

from ..architectures.acam_kd_fusion import ASCMasks, STCAFusion
from .resize import check_resize, match_sizes
from .acam_kd_terms import (NORMALIZATIONS, dice_diversity, kl_energies, mask_mass_penalty, masked_energy,
                            masked_mimic_loss, standardize_channels, standardize_pixels)

MASK_LEARNING_MODES = ('joint', 'online', 'minmax')
MASK_TYPES = ('channel', 'spatial')
FEATURE_NORMS = (None, 'channel', 'pixel')
DISTANCES = ('mse', 'kl')


class _ReverseGrad(torch.autograd.Function):
    """Identity forward, negated gradient backward (the 'minmax' mask mode)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return -grad


@MODELS.register_module()
class ACAMKDLoss(nn.Module):
    """ACAM-KD's distillation loss for one feature level (Lan & Tian, ICCV 2025).

    With D = F^T - f_align(F^S), masks from ``ASCM(STCA-FF(F^T, f_align(F^S)))``::

        L = loss_weight * (L^c + L^s) + div_weight * L_div + mass_weight * L_mass

    L^c and L^s: ``masked_mimic_loss`` (``acam_kd_terms.py``) with the channel and the spatial masks,
    normalised as ``normalize`` says (with ``distance='kl'``: ``masked_energy`` of ``kl_energies``); L_div:
    ``dice_diversity`` on the spatial masks (and on the channel masks with ``channel_div=True``); L_mass:
    ``mask_mass_penalty`` on every mask type in use (ours). f_align is a 1x1 conv when the channel counts
    differ, else the identity. The teacher never gets a gradient, except in ``disagreement_only`` mode.

    ``disagreement_only = True`` (set by HARD's augmentor step, ``hard_distill.py``) makes ``forward`` return
    ``loss_weight * (L^c + L^s)`` alone, as a plain function of both features: no Dice or mass term, the
    teacher feature not detached, the student feature not detached into the mask branch, no gradient
    reversal (``'minmax'``) and no masks kept for the online mode; ``last_stats`` is left as it was.

    The defaults are our variant, not the paper's literal reading: standardised features, the mask-weighted
    mean, the mass term, min-max masks, ``loss_weight=2``, selection units from N(0, 0.1^2); they were
    chosen by an ablation whose rounds and numbers are in ``docs/methods/acam_kd.md``. The literal reading
    of the paper's notes is ``mask_learning='joint', normalize='mask_sum', feature_norm=None, mass_weight=0,
    loss_weight=1, init_std=0.01``; why its masks drift to 0 is under ``'joint'`` below.

    How the masks learn (open choice E1), ``mask_learning``:

    - ``'minmax'`` (default; ours, not the paper's): the mask parameters receive the negated mimic
      gradient, so they seek where the student is still far from the teacher while the student closes
      the gap; Dice keeps them apart and the mass term keeps each mask's mean near ``mass_target``.
    - ``'joint'`` (the notes' reading): one objective; STCA-FF/ASCM get gradients from the mimic terms
      and the Dice term. Under the ``'mask_sum'`` and ``'hw'`` normalisations, scaling the masks by s
      scales L^c + L^s by s (s^2), so the masks drift toward 0 unless L_mass holds them.
    - ``'online'`` (MasKD-style, continuously updated): the mimic terms see detached masks; the mask
      parameters learn from the Dice term and from the frozen teacher's task loss on masked teacher
      features, which ``ACAMKDDistill`` computes (see ``mask_teacher``). Needs that algorithm.

    The mean masks and terms are kept in ``last_stats`` for ``ACAMKDMaskLoggerHook`` to log.

    Args:
        student_channels: channels of the student feature.
        teacher_channels: C, channels of the teacher feature.
        num_masks: M (6 for detection, 19 for Cityscapes logits).
        loss_weight: alpha, the weight of L^c + L^s.
        div_weight: lambda, the weight of the Dice diversity term.
        channel_mask: ``'literal'`` (m_c in R^{M x 1}) or ``'elementwise'`` (m_c in R^{M x C}), E3.
        mask_learning: ``'joint'``, ``'online'`` or ``'minmax'`` (E1).
        query_channels: C_q of STCA-FF; default C // 2.
        mask_types: which mimic terms to use, a subset of ``('channel', 'spatial')`` (the paper's
            Table 8 ablation); the spatial masks are computed (and diversified) in any case.
        channel_div: also apply the Dice term to the channel masks.
        init_std: std of the selection units' normal initialisation.
        normalize: ``'mask_mean'`` (default), ``'mask_sum'`` (MasKD's) or ``'hw'``: see ``acam_kd_terms.py``.
        detach_student: stop the mask branch's gradient at the student feature (True: the student
            learns only through the masked error; False: also through STCA-FF's key and value).
        feature_norm: ``'channel'`` (default): standardise both features per channel over N, H, W
            before everything (PKD's normalisation), so that levels weigh alike; ``'pixel'``: standardise
            each position over the channels (for logits: keeps each pixel's class ranking); None: raw.
        mass_weight: weight of L_mass; 0 disables it.
        mass_target: the mean mask L_mass pulls every mask towards.
        kv_max_tokens: pool the student map for STCA-FF's key/value above this many positions
            (``STCAFusion``); None: never.
        attention_kernel: how STCA-FF's attention is computed (``STCAFusion``'s ``kernel``): ``'auto'``
            (default: ``'chunked'`` on CPU when C >= 8 M, ``'sdpa'`` otherwise), ``'chunked'`` or
            ``'sdpa'``; equal up to float rounding, they differ in speed.
        distance: ``'mse'`` (default; the paper's squared error) or ``'kl'`` (ours, for logits): the
            channel masks weigh CWD's per-class spatial KL, the spatial masks the per-pixel class KL
            (``kl_energies``), both at temperature ``tau`` and scaled by tau^2. Pair it with
            ``feature_norm=None`` (the Cityscapes configs do): per-channel standardisation changes which
            class wins at a pixel.
        tau: the temperature of ``distance='kl'``.
        resize: maps of different sizes (a heterogeneous pair): ``'teacher'`` resizes the teacher's map to the
            student's, ``'student'`` the other way, bilinearly (``resize.py``); None (default): an error.
        align_corners: of that resize; match the heads' setting.

    Shapes: ``forward`` takes (N, C_S, H, W) and (N, C, H, W); the masks are (N, M, C) (channel) and
    (N, M, H, W) (spatial). The loss is computed in float32 outside autocast.

    Raises:
        ValueError: an unknown mode, normalisation or mask type; features whose channels or sizes do
            not match the constructor's (at ``forward``).
    """

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 num_masks: int = 6,
                 loss_weight: float = 2.0,
                 div_weight: float = 1.0,
                 channel_mask: str = 'literal',
                 mask_learning: str = 'minmax',
                 query_channels: Optional[int] = None,
                 mask_types: Sequence[str] = MASK_TYPES,
                 channel_div: bool = False,
                 init_std: float = 0.1,
                 normalize: str = 'mask_mean',
                 detach_student: bool = True,
                 feature_norm: Optional[str] = 'channel',
                 mass_weight: float = 10.0,
                 mass_target: float = 0.5,
                 kv_max_tokens: Optional[int] = None,
                 attention_kernel: str = 'auto',
                 distance: str = 'mse',
                 tau: float = 1.0,
                 resize: Optional[str] = None,
                 align_corners: bool = False) -> None:
        super().__init__()
        check_resize(resize)
        self.resize = resize
        self.align_corners = align_corners
        if mask_learning not in MASK_LEARNING_MODES:
            raise ValueError(f'mask_learning must be one of {MASK_LEARNING_MODES}, got {mask_learning!r}.')
        mask_types = tuple(mask_types)
        if not mask_types or not set(mask_types) <= set(MASK_TYPES):
            raise ValueError(f'mask_types must be a non-empty subset of {MASK_TYPES}, got {mask_types!r}.')
        if normalize not in NORMALIZATIONS:
            raise ValueError(f'normalize must be one of {NORMALIZATIONS}, got {normalize!r}.')
        if feature_norm not in FEATURE_NORMS:
            raise ValueError(f'feature_norm must be one of {FEATURE_NORMS}, got {feature_norm!r}.')
        if distance not in DISTANCES:
            raise ValueError(f'distance must be one of {DISTANCES}, got {distance!r}.')
        if not tau > 0:
            raise ValueError(f'tau is a softmax temperature, > 0; got {tau}.')
        if distance == 'kl' and student_channels != teacher_channels:
            raise ValueError("distance='kl' compares class distributions, so student_channels must equal "
                             f'teacher_channels (logits); got {student_channels} and {teacher_channels}.')
        if not 0 < mass_target < 1:
            raise ValueError(f'mass_target is a mean mask value, in (0, 1); got {mass_target}.')
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.num_masks = num_masks
        self.loss_weight = loss_weight
        self.div_weight = div_weight
        self.mask_learning = mask_learning
        self.mask_types = mask_types
        self.channel_div = channel_div
        self.normalize = normalize
        self.detach_student = detach_student
        self.feature_norm = feature_norm
        self.distance = distance
        self.tau = tau
        self.mass_weight = mass_weight
        self.mass_target = mass_target
        self.align = (nn.Conv2d(student_channels, teacher_channels, kernel_size=1)
                      if student_channels != teacher_channels else nn.Identity())
        self.fusion = STCAFusion(teacher_channels, query_channels, kv_max_tokens, attention_kernel)
        self.masks = ASCMasks(teacher_channels, num_masks, channel_mask, init_std)
        self.last_stats: Dict[str, Tensor] = {}
        self._online_masks: Optional[Tuple[Tensor, Tensor]] = None
        self.disagreement_only = False

    def generate_masks(self, aligned_student: Tensor, teacher: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, M, C) channel and (N, M, H, W) spatial masks from aligned student and teacher features."""
        pooled, projected = self.fusion.summaries(teacher, aligned_student, self.masks.spatial_units)
        return self.masks(pooled, projected, teacher.shape[2:])

    def prepare(self, preds_S: Tensor, preds_T: Tensor) -> Tuple[Tensor, Tensor]:
        """f_align(F^S) and F^T (detached but in ``disagreement_only`` mode) as the masks and the error see
        them: in the parameters' dtype (outside autocast) and, with ``feature_norm``, standardised."""
        if not self.disagreement_only:
            preds_T = preds_T.detach()
        preds_S, teacher = self._match_param_dtype(preds_S), self._match_param_dtype(preds_T)
        aligned = self.align(preds_S)
        if self.feature_norm is not None:
            norm = standardize_channels if self.feature_norm == 'channel' else standardize_pixels
            with torch.autocast(teacher.device.type, enabled=False):
                aligned, teacher = norm(aligned.float()), norm(teacher.float())
            aligned, teacher = self._match_param_dtype(aligned), self._match_param_dtype(teacher)
        return aligned, teacher

    def spatial_masks_of(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """The (N, M, H, W) spatial masks this loss would use for these features."""
        aligned, teacher = self.prepare(preds_S, preds_T)
        return self.generate_masks(aligned, teacher)[1]

    def forward(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """The ACAM-KD loss of one level: (N, C_S, H, W) student, (N, C, H, W) teacher -> scalar."""
        self._check_inputs(preds_S, preds_T)
        preds_S, preds_T = match_sizes(preds_S, preds_T, self.resize, self.align_corners, 'ACAMKDLoss')
        if self.training and self._online_masks is not None:
            raise RuntimeError(
                "ACAMKDLoss(mask_learning='online'): the masks of the previous step were never used "
                "by a teacher task loss, so they would learn from the Dice term alone. Use "
                "model=dict(type='ACAMKDDistill', ...) for the online mode, or mask_learning='joint'.")
        aligned, teacher = self.prepare(preds_S, preds_T)
        plain = self.disagreement_only
        channel_masks, spatial_masks = self.generate_masks(
            aligned.detach() if self.detach_student and not plain else aligned, teacher)
        if plain:
            mimic_c, mimic_s = channel_masks, spatial_masks
        elif self.mask_learning == 'online':
            if self.training:
                self._online_masks = (channel_masks, spatial_masks)
            mimic_c, mimic_s = channel_masks.detach(), spatial_masks.detach()
        elif self.mask_learning == 'minmax':
            mimic_c, mimic_s = _ReverseGrad.apply(channel_masks), _ReverseGrad.apply(spatial_masks)
        else:
            mimic_c, mimic_s = channel_masks, spatial_masks

        with torch.autocast(teacher.device.type, enabled=False):
            flat_s = spatial_masks.flatten(2)
            zero = flat_s.new_zeros((), dtype=torch.float32)
            if self.distance == 'kl':
                energy_c, energy_p = kl_energies(aligned.float().flatten(2), teacher.float().flatten(2), self.tau)
                loss_c = (masked_energy(energy_c, mimic_c.float(), 1, self.normalize)
                          if 'channel' in self.mask_types else zero)
                loss_s = (masked_energy(energy_p, mimic_s.flatten(2).float(), 1, self.normalize)
                          if 'spatial' in self.mask_types else zero)
            else:
                diff = (teacher.float() - aligned.float()).flatten(2)  # (N, C, HW)
                loss_c = (masked_mimic_loss(diff, mimic_c, 1, self.normalize)
                          if 'channel' in self.mask_types else zero)
                loss_s = (masked_mimic_loss(diff, mimic_s.flatten(2), 2, self.normalize)
                          if 'spatial' in self.mask_types else zero)
            if plain:
                return self.loss_weight * (loss_c + loss_s)
            loss_div = dice_diversity(flat_s)
            if self.channel_div:
                loss_div = loss_div + dice_diversity(channel_masks)
            loss = self.loss_weight * (loss_c + loss_s) + self.div_weight * loss_div
            loss_mass = zero
            if self.mass_weight:
                used = [m for kind, m in (('channel', channel_masks), ('spatial', flat_s))
                        if kind in self.mask_types]
                loss_mass = sum(mask_mass_penalty(m, self.mass_target) for m in used)
                loss = loss + self.mass_weight * loss_mass
        self.last_stats = dict(mask_c=channel_masks.detach().mean(), mask_s=spatial_masks.detach().mean(),
                               loss_c=loss_c.detach(), loss_s=loss_s.detach(), div=loss_div.detach(),
                               mass=loss_mass.detach())
        return loss

    def mask_teacher(self, preds_T: Tensor) -> Tensor:
        """The teacher feature under this step's masks, for the online mode's teacher task loss.

        ``F^T * (1/M) sum_m M^c_m (x) M^s_m``: each mask m is the outer product of channel mask m and
        spatial mask m, and the M masked features are averaged (MasKD's soft-weighted sum of masked
        features, with uniform weights). Gradients reach the mask parameters only. Consumes the masks
        stored by the last ``forward`` (online mode, training).
        """
        if self._online_masks is None:
            raise RuntimeError("mask_teacher() needs a training forward with mask_learning='online' first.")
        channel_masks, spatial_masks = self._online_masks
        self._online_masks = None
        n, c, h, w = preds_T.shape
        combined = torch.einsum('nmc,nmp->ncp', channel_masks, spatial_masks.flatten(2)) / self.num_masks
        return preds_T.detach() * combined.view(n, c, h, w).to(preds_T.dtype)

    def _match_param_dtype(self, x: Tensor) -> Tensor:
        # Without autocast a bf16/fp16 feature would clash with the float32 projections (MMRazor #190);
        # under autocast the ops cast for themselves.
        if torch.is_autocast_enabled(x.device.type):
            return x
        return x.to(self.fusion.value.weight.dtype)

    def _check_inputs(self, preds_S: Tensor, preds_T: Tensor) -> None:
        inputs = (preds_S, preds_T)
        if not all(isinstance(x, Tensor) and x.dim() == 4 for x in inputs):
            shapes = [tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__ for x in inputs]
            raise ValueError(f'ACAMKDLoss takes one level of (N, C, H, W) features, got student {shapes[0]} '
                             f'and teacher {shapes[1]}; for an FPN tuple use one loss per level '
                             '(data_idx) or ACAMKDDistill(acam=dict(num_levels=...)).')
        if preds_S.shape[1] != self.student_channels or preds_T.shape[1] != self.teacher_channels:
            raise ValueError(f'ACAMKDLoss(student_channels={self.student_channels}, teacher_channels='
                             f'{self.teacher_channels}) got {preds_S.shape[1]} student and '
                             f'{preds_T.shape[1]} teacher channels; set the channels to match the '
                             'recorded features.')
        if preds_S.shape[0] != preds_T.shape[0]:
            raise ValueError(f'Student {tuple(preds_S.shape)} and teacher {tuple(preds_T.shape)} features '
                             'differ in batch size; record the same inputs of both models.')
