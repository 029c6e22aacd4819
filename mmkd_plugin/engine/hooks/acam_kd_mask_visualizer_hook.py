"""Pictures of ACAM-KD's spatial masks on a fixed image, early and late in training.

The paper's Figure 1 shows the student's attention shifting as training goes on. This hook renders every
level's M spatial masks as heat maps over one image (``mmkd_plugin.visualization``) after the given
iterations and at the end of training, and hands them to MMEngine's visualizer (``add_image``), so they
land where the run's other images do (``<work_dir>/<timestamp>/vis_data/vis_image/`` with the local
backend, TensorBoard or W&B with theirs), named ``acam_masks_<level>`` with the number of iterations done as step.
"""
from typing import Sequence

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...models.utils.student import unwrap


@HOOKS.register_module()
class ACAMKDMaskVisualizerHook(Hook):
    """Render ACAM-KD's masks on ``image`` after the iterations in ``iters`` and after training.

    Args:
        image: path of the image (it goes through the config's test pipeline).
        iters: training iterations (1-based) after which to render; the end of training always is.
        alpha: opacity of the heat maps.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    priority = 'LOW'

    def __init__(self, image: str, iters: Sequence[int] = (1,), alpha: float = 0.5) -> None:
        self.image = image
        self.iters = set(iters)
        self.alpha = alpha

    def _render(self, runner, step: int) -> None:
        from ...visualization import batch_image, load_image, render, spatial_masks
        model = unwrap(runner.model)
        if not hasattr(model, 'distiller'):
            return
        batch = load_image(runner.cfg.test_dataloader.dataset.pipeline, self.image)
        training = model.training
        model.eval()
        try:
            with torch.no_grad():
                masks, padded_hw = spatial_masks(model, batch)
        finally:
            model.train(training)
        image = batch_image(batch)
        for level, level_masks in masks.items():
            picture = render(image, level_masks, padded_hw, self.alpha)[..., ::-1]  # BGR -> RGB
            runner.visualizer.add_image(f'acam_masks_{level}', picture.copy(), step=step)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 in self.iters:  # runner.iter counts the iterations before this one
            self._render(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        self._render(runner, runner.iter)
