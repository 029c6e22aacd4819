"""HARD: distillation on inputs a learned augmentor makes hard (Nix, Burg & Sinz, arXiv 2305.14890, 2023).

No official code; the paper's objective and schedule could not be read. Our reading (``configs/hard/README.md``):
an augmentor g_phi, trained alternately with the student by its own optimizer, maximises the distillation
loss (the teacher-student disagreement) on the inputs it makes, under a constraint that keeps the teacher's
prediction valid (the teacher's own task loss on the augmented inputs and the transformed labels):

    augmentor step:  max_phi  sum_k L_distill_k(T(g_phi(x)), S(g_phi(x)))
                              -  teacher_weight * L_task(T, g_phi(x), g_phi(y))
    student step:    min_S    L_task(S, x~, y~) + sum_k L_distill_k(T(x~), S(x~)),
                     x~ = g_phi(x) for a random ``augment_prob`` share of the images, x for the others

The augmentor's gradient is that of the objective as written: the teacher runs with gradient with respect
to its input in the augmentor step (its parameters stay frozen and receive nothing), so the directions in
which the teacher's output moves reach the augmentor, not only the student's; L_distill_k is each loss's
disagreement term alone (for ACAM-KD ``loss_weight * (L^c + L^s)``, without the Dice and mass regularisers,
the gradient reversal or the online mode's masked teacher task loss: ``ACAMKDLoss.disagreement_only``).
``augmentor_teacher_grad=False`` gives the approximation with the teacher under ``no_grad`` (the
disagreement reaches the augmentor through the student alone); the two steps' cost: configs/hard/README.md.

Any teacher-distillation config becomes a HARD config by its type's HARD twin (``TeacherDistill`` ->
``HARDDistill``, ``ACAMKDDistill`` -> ``HARDACAMKDDistill``) and an ``augmentor``: ``HARDMixin`` adds the
augmentor to the algorithm it is mixed into.
"""
import contextlib
import copy
import logging
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine import dist
from mmengine.logging import print_log
from mmengine.optim import build_optim_wrapper
from mmengine.structures import BaseDataElement
from mmrazor.registry import MODELS
from torch import Tensor

from .acam_kd_distill import ACAMKDDistill
from .teacher_distill import TeacherDistill


@contextlib.contextmanager
def disagreement_only(distiller: torch.nn.Module) -> Iterator[None]:
    """Within: every loss of ``distiller`` that has a ``disagreement_only`` flag (``ACAMKDLoss``) returns
    its disagreement term alone, a plain function of both inputs; other losses are disagreements already."""
    losses = [m for m in distiller.modules() if hasattr(m, 'disagreement_only')]
    for loss in losses:
        loss.disagreement_only = True
    try:
        yield
    finally:
        for loss in losses:
            loss.disagreement_only = False


class HARDMixin:
    """Teacher distillation on batches warped by a learned augmentor (HARD, see the module docstring).

    Mixed into a ``TeacherDistill`` subclass (``HARDDistill``, ``HARDACAMKDDistill``).

    Args:
        augmentor: the augmentor config, e.g. ``dict(type='AffineAugmentor', max_rotation=15)``.
        augmentor_optimizer: its optimizer (``torch.optim`` type), e.g. ``dict(type='Adam', lr=0.01)``.
        augmentor_interval: one augmentor update every this many student steps (the alternation ratio).
        augment_prob: the probability that an image of a student batch is augmented (the rest stay clean).
        teacher_weight: the weight of the teacher's task loss in the augmentor's objective (the constraint).
        augmentor_teacher_grad: run the teacher with gradient with respect to its input in the augmentor
            step (True, the objective as written) or under ``no_grad`` (False, the former approximation).
        **kwargs: as ``TeacherDistill`` (``architecture``, ``teacher``, ``teacher_ckpt``, ``distiller``, ...).

    The augmentor's parameters are frozen (``requires_grad=False``) except inside its own update, so the
    student's optimizer and DDP never touch them; its gradients are averaged over the processes by hand. Its
    parameters, its optimizer's state and the step count are in the model's ``state_dict``, so ``--resume``
    continues them. The student-only export leaves them out.

    Raises:
        ValueError: an interval below 1, a probability outside [0, 1], or a negative teacher weight.
    """

    def __init__(self, augmentor: dict, augmentor_optimizer: Optional[dict] = None, augmentor_interval: int = 1,
                 augment_prob: float = 0.5, teacher_weight: float = 1.0, augmentor_teacher_grad: bool = True,
                 **kwargs) -> None:
        if augmentor_interval < 1:
            raise ValueError(f'augmentor_interval must be >= 1 (student steps per augmentor step), got '
                             f'{augmentor_interval}.')
        if not 0 <= augment_prob <= 1:
            raise ValueError(f'augment_prob is a probability in [0, 1], got {augment_prob}.')
        if teacher_weight < 0:
            raise ValueError(f'teacher_weight must be >= 0, got {teacher_weight}.')
        super().__init__(**kwargs)
        self.augmentor = MODELS.build(augmentor)
        self.augmentor.requires_grad_(False)
        optimizer = augmentor_optimizer or dict(type='Adam', lr=0.01)
        self.augmentor_optim = build_optim_wrapper(self.augmentor, dict(type='OptimWrapper', optimizer=optimizer))
        self.augmentor_interval = augmentor_interval
        self.augment_prob = augment_prob
        self.teacher_weight = teacher_weight
        self.augmentor_teacher_grad = augmentor_teacher_grad
        self.register_buffer('hard_step', torch.zeros((), dtype=torch.long))
        self.last_stats: Dict[str, Tensor] = {}

    # -- the state of the augmentor's optimizer travels with the model's state_dict ------------------------
    def get_extra_state(self) -> dict:
        return dict(augmentor_optimizer=self.augmentor_optim.state_dict())

    def set_extra_state(self, state: dict) -> None:
        self.augmentor_optim.load_state_dict(state['augmentor_optimizer'])

    def loss(self, batch_inputs: Tensor, data_samples: Optional[List[BaseDataElement]] = None) -> Dict[str, Tensor]:
        """Maybe an augmentor step, then the distillation loss on the partly augmented batch."""
        if self.training:
            if int(self.hard_step) % self.augmentor_interval == 0:
                self.update_augmentor(batch_inputs, data_samples)
            self.hard_step += 1
            with torch.no_grad():
                generator = self.noise_generator()
                apply = (torch.rand(batch_inputs.shape[0], generator=generator) < self.augment_prob).to(
                    batch_inputs.device)
                batch_inputs, data_samples = self.augmentor(batch_inputs, copy.deepcopy(data_samples), apply=apply,
                                                            generator=generator)
        losses = super().loss(batch_inputs, data_samples)
        for key, value in self.last_stats.items():
            losses[f'hard.{key}'] = value  # logged (no 'loss' in the name: not optimised)
        return losses

    @staticmethod
    def noise_generator() -> torch.Generator:
        """A CPU generator for this step's transforms: seeded from torch's global generator (so MMEngine's
        seeding and ``ReseedHook`` make it reproducible) plus the rank, so that processes seeded alike
        (MMEngine's default) still draw different transforms."""
        seed = int(torch.randint(0, 2**62, (1,))) + dist.get_rank()
        return torch.Generator().manual_seed(seed)

    def augmentor_objective(self, batch_inputs: Tensor,
                            data_samples: Optional[List[BaseDataElement]]) -> Dict[str, Tensor]:
        """The disagreement and the teacher constraint on a fully augmented copy of the batch (with grad).

        ``disagreement``: sum_k L_distill_k(T(g(x)), S(g(x))), each loss's disagreement term alone, the
        teacher with gradient with respect to its input (``augmentor_teacher_grad``); ``teacher_task``: the
        teacher's task loss on the augmented batch and labels. Both scalars keep the graph to the augmentor.
        """
        inputs, samples = self.augmentor(batch_inputs, copy.deepcopy(data_samples), generator=self.noise_generator())
        with disagreement_only(self.distiller):
            _, distill = self.recorded_losses(inputs, samples, teacher_grad=self.augmentor_teacher_grad)
        distill = {k: v for k, v in (distill or {}).items() if 'loss' in k}
        if not distill:
            raise ValueError('HARD needs distillation losses to maximise; the step gave none (has distillation '
                             'stopped?).')
        # MMEngine's loss summation (the plain BaseModel one: a non-finite value is the augmentor step's to skip)
        teacher_losses = self.teacher.loss(self.teacher_inputs(inputs, samples), samples)
        return dict(disagreement=self.teacher.parse_losses(distill)[0],
                    teacher_task=self.teacher.parse_losses(teacher_losses)[0])

    def augmentor_gradients(self, batch_inputs: Tensor, data_samples: Optional[List[BaseDataElement]]
                            ) -> Tuple[List[Tensor], Dict[str, Tensor]]:
        """d(-disagreement + teacher_weight * teacher_task)/d(augmentor parameters), float32, None as zeros,
        and the two terms (detached). The student's buffers (BN running statistics) are restored afterwards;
        no parameter but the augmentor's is differentiated, so nothing accumulates a gradient."""
        params = list(self.augmentor.parameters())
        buffers = [(b, b.detach().clone()) for b in self.architecture.buffers()]
        self.augmentor.requires_grad_(True)
        try:
            with torch.enable_grad():
                terms = self.augmentor_objective(batch_inputs, data_samples)
                objective = -terms['disagreement'] + self.teacher_weight * terms['teacher_task']
                grads = torch.autograd.grad(objective, params, allow_unused=True)
        finally:
            self.augmentor.requires_grad_(False)
            with torch.no_grad():
                for buffer, saved in buffers:
                    buffer.copy_(saved)
        grads = [torch.zeros_like(p) if g is None else g.float() for p, g in zip(params, grads)]
        return grads, {k: v.detach() for k, v in terms.items()}

    def update_augmentor(self, batch_inputs: Tensor, data_samples: Optional[List[BaseDataElement]]) -> None:
        """One step of the augmentor's optimizer on -disagreement + teacher_weight * teacher task loss.

        The student runs as it trains (train mode) and is left as it was (``augmentor_gradients``); the
        gradients are averaged over the processes.
        """
        params = list(self.augmentor.parameters())
        grads, terms = self.augmentor_gradients(batch_inputs, data_samples)
        world_size = dist.get_world_size()
        if world_size > 1:
            for grad in grads:
                dist.all_reduce(grad, op='mean')
        if all(bool(torch.isfinite(g).all()) for g in grads):  # the same verdict on every rank
            for param, grad in zip(params, grads):
                param.grad = grad
            self.augmentor_optim.step()
        else:
            print_log('HARD: a non-finite augmentor gradient; this augmentor step is skipped.', logger='current',
                      level=logging.WARNING)
        for param in params:
            param.grad = None
        self.last_stats = dict(terms)
        with torch.no_grad():  # where the distribution sits: |centre| and spread, as fractions of the bounds
            self.last_stats['shift'] = self.augmentor.centre.tanh().abs().mean()
            self.last_stats['spread'] = self.augmentor.log_std.exp().mean()


@MODELS.register_module()
class HARDDistill(HARDMixin, TeacherDistill):
    """``TeacherDistill`` with HARD's learned augmentor (``HARDMixin``)."""


@MODELS.register_module()
class HARDACAMKDDistill(HARDMixin, ACAMKDDistill):
    """``ACAMKDDistill`` with HARD's learned augmentor (``HARDMixin``)."""
