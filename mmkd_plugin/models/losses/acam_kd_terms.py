"""The terms of ACAM-KD's loss (Lan & Tian, ICCV 2025): masked mimic errors, Dice diversity, mask mass.

With D = F^T - f_align(F^S) in R^{C x HW} and M masks over one axis of D (channel masks over the C
channels, spatial masks over the HW positions), E is the squared error summed over the *other* axis
(E_k = sum_p D_kp^2 for channel masks, E_p = sum_k D_kp^2 for spatial ones) and K that axis's size.
The sources do not settle the normalisation (``docs/methods/acam_kd.md``), so it is a setting:

- ``'mask_sum'`` (MasKD's form):  1/M sum_m sum_l M_ml^2 E_l / (K sum_l M_ml)
- ``'hw'`` (no mask in the denominator):  1/M sum_m sum_l M_ml^2 E_l / (K L)
- ``'mask_mean'`` (mask-weighted mean of the squared error):  1/M sum_m sum_l M_ml E_l / (K sum_l M_ml)

With ``distance='kl'`` (``ACAMKDLoss``; ours, for logits) E is a divergence instead of a squared error:
E_p = tau^2 KL(T^tau_p || S^tau_p) over the channels at position p (the per-pixel KD of CIRKD) and
E_k = tau^2 KL(T^tau_k || S^tau_k) over the positions of channel k (CWD's channel distribution), each
an expectation under the teacher's distribution rather than a sum of K squared errors, so K = 1
(``kl_energies``).

Under ``'mask_sum'`` and ``'hw'`` a mask scaled by s scales the term by s (resp. s^2), so minimising it
over the masks drives them to 0; ``'mask_mean'`` is invariant to that scale.
"""
import torch
from torch import Tensor

NORMALIZATIONS = ('mask_sum', 'hw', 'mask_mean')


def masked_mimic_loss(diff: Tensor, masks: Tensor, axis: int, normalize: str = 'mask_sum') -> Tensor:
    """The masked squared error of one mask type, averaged over masks and the batch.

    Args:
        diff: D, (N, C, HW), float32.
        masks: (N, M, C) channel masks (``axis=1``) or (N, M, HW) spatial masks (``axis=2``).
        axis: the axis of ``diff`` the masks run over.
        normalize: ``'mask_sum'``, ``'hw'`` or ``'mask_mean'`` (module docstring).

    Returns:
        A scalar.
    """
    other = 3 - axis  # 1 <-> 2
    return masked_energy(diff.pow(2).sum(dim=other), masks, diff.shape[other], normalize)


def masked_energy(energy: Tensor, masks: Tensor, size: int, normalize: str = 'mask_sum') -> Tensor:
    """The masked mean of per-element energies E_l, averaged over masks and the batch.

    Args:
        energy: (N, L): E_l, the error along the masks' axis, summed over the other axis of size ``size``.
        masks: (N, M, L).
        size: K, the other axis's size (1 for energies that already are means, e.g. divergences).
        normalize: ``'mask_sum'``, ``'hw'`` or ``'mask_mean'`` (module docstring).
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f'normalize must be one of {NORMALIZATIONS}, got {normalize!r}.')
    weights = masks if normalize == 'mask_mean' else masks.pow(2)
    numerator = torch.bmm(weights, energy.unsqueeze(2)).squeeze(2)  # (N, M)
    size_l = masks.new_tensor(float(masks.shape[2])) if normalize == 'hw' else masks.sum(dim=2)
    denominator = size * size_l
    return (numerator / denominator.clamp_min(1e-12)).mean()


def kl_energies(student: Tensor, teacher: Tensor, tau: float = 1.0) -> tuple:
    """Per-channel and per-position divergences of (N, C, HW) student and teacher maps (``distance='kl'``).

    Returns:
        (E_c, E_p): (N, C) tau^2 KL(softmax_HW(T_k / tau) || softmax_HW(S_k / tau)) per channel k, and
        (N, HW) tau^2 KL(softmax_C(T_p / tau) || softmax_C(S_p / tau)) per position p. Teacher first, as
        in CWD and CIRKD's KD loss.
    """
    def kl(dim):
        log_t, log_s = torch.log_softmax(teacher / tau, dim), torch.log_softmax(student / tau, dim)
        return (log_t.exp() * (log_t - log_s)).sum(dim) * tau ** 2
    return kl(2), kl(1)


def dice_diversity(masks: Tensor, eps: float = 1e-12) -> Tensor:
    """Mean Dice coefficient over ordered pairs of different masks, averaged over the batch.

    For each image: mean_{i != j} 2 <M_i, M_j> / (|M_i|^2 + |M_j|^2 + eps) over flattened masks
    (MasKD's ``dice_coeff``). 0 for a single mask; 1 when all masks are equal.

    Args:
        masks: (N, M, L).
    """
    num_masks = masks.shape[1]
    if num_masks < 2:
        return masks.sum() * 0
    gram = torch.bmm(masks, masks.transpose(1, 2))  # (N, M, M)
    sq_norm = gram.diagonal(dim1=1, dim2=2)
    dice = 2 * gram / (sq_norm[:, :, None] + sq_norm[:, None, :] + eps)
    off_diagonal = ~torch.eye(num_masks, dtype=torch.bool, device=masks.device)
    return dice[:, off_diagonal].mean()


def mask_mass_penalty(masks: Tensor, target: float) -> Tensor:
    """mean_{n,m} (mean_l M_nml - target)^2: keeps every mask's mean near ``target`` (ours, not the paper's).

    Args:
        masks: (N, M, L) in (0, 1).
        target: the wanted mean mask, in (0, 1).
    """
    return (masks.mean(dim=2) - target).pow(2).mean()


def standardize_channels(x: Tensor, eps: float = 1e-6) -> Tensor:
    """Each channel of (N, C, H, W) features to zero mean and unit std over N, H, W (PKD's ``norm``).

    FPN feature energy grows with stride, so raw errors let the coarse levels dominate the sum over
    levels; standardised features give every level an error of the same scale.
    """
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True) if x.numel() // x.shape[1] > 1 else torch.ones_like(mean)
    return (x - mean) / (std + eps)


def standardize_pixels(x: Tensor, eps: float = 1e-6) -> Tensor:
    """Each position of (N, C, H, W) features to zero mean and unit std over C (unbiased), ours.

    For logits this keeps what a pixel's prediction is (the order and relative gaps of its class scores)
    and drops the per-pixel scale; ``standardize_channels`` would instead rescale each class map on its
    own and so change which class wins at a pixel.
    """
    if x.shape[1] < 2:
        return x - x.mean(dim=1, keepdim=True)
    return (x - x.mean(dim=1, keepdim=True)) / (x.std(dim=1, keepdim=True) + eps)
