"""Trial-based validation metrics of speaker embeddings.

Every pair of validation chunks is a trial: same identity (target) or different
identities (non-target). Non-target pairs include pairs of different speakers of
the same file, which is what speaker diarization has to tell apart.
"""

from typing import Optional, Tuple

import numpy as np
import torch
from sklearn.metrics import roc_curve
import torch.nn.functional as F
from torchmetrics import Metric
from torchmetrics.functional.classification import binary_auroc
from torchmetrics.utilities.data import dim_zero_cat


class TrialMetric(Metric):
    """Base class of metrics computed on all pairs of embeddings

    Parameters
    ----------
    within_file : bool, optional
        Only keep non-target trials whose two chunks come from the same file
        (target trials are all kept). Defaults to False (all pairs).
    compute_on_cpu : bool, optional
        Defaults to True.

    Notes
    -----
    `update(embeddings, identities, files, indices)` accumulates chunk
    embeddings (batch, dimension), their identity and file indices (batch, ),
    and their unique chunk index (batch, ), used to drop the duplicates a
    distributed sampler may add.
    """

    is_differentiable: Optional[bool] = False
    full_state_update: bool = False

    def __init__(self, within_file: bool = False, compute_on_cpu: bool = True, **kwargs):
        super().__init__(compute_on_cpu=compute_on_cpu, **kwargs)
        self.within_file = within_file
        self.add_state("embeddings", default=[], dist_reduce_fx="cat")
        self.add_state("identities", default=[], dist_reduce_fx="cat")
        self.add_state("files", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")

    def update(
        self,
        embeddings: torch.Tensor,
        identities: torch.Tensor,
        files: torch.Tensor,
        indices: torch.Tensor,
    ) -> None:
        self.embeddings.append(embeddings.detach().float())
        self.identities.append(identities)
        self.files.append(files)
        self.indices.append(indices)

    def trials(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cosine similarity and target flag of every trial

        Returns
        -------
        scores : (num_trials, ) torch.Tensor
            Cosine similarity.
        targets : (num_trials, ) torch.Tensor
            True for same-identity trials.
        """
        # drop duplicated chunks (first occurrence of each chunk index is kept)
        indices = dim_zero_cat(self.indices)
        order = torch.argsort(indices, stable=True)
        first = torch.ones_like(order, dtype=torch.bool)
        first[1:] = indices[order][1:] != indices[order][:-1]
        keep = order[first]

        embeddings = F.normalize(dim_zero_cat(self.embeddings)[keep], dim=-1)
        identities = dim_zero_cat(self.identities)[keep]
        files = dim_zero_cat(self.files)[keep]

        i, j = torch.triu_indices(len(embeddings), len(embeddings), offset=1)
        scores = torch.sum(embeddings[i] * embeddings[j], dim=-1)
        targets = identities[i] == identities[j]
        if self.within_file:
            selected = targets | (files[i] == files[j])
            scores, targets = scores[selected], targets[selected]
        return scores, targets

    def _check(self, targets: torch.Tensor):
        if targets.all() or not targets.any():
            raise ValueError(
                "Validation trials need both same-identity and different-identity pairs: "
                "the development subset has too few identities (or chunks per identity)."
            )


def equal_error_rate(targets: np.ndarray, scores: np.ndarray) -> float:
    """Equal error rate, where false alarm and miss rates cross

    Parameters
    ----------
    targets : (num_trials, ) np.ndarray
        True for target trials.
    scores : (num_trials, ) np.ndarray
        Similarity scores (higher means more likely target).

    Returns
    -------
    eer : float
        Linearly interpolated between the two ROC points around the crossing
        (0.0 for perfectly separated scores, 1.0 for perfectly reversed ones).
    """
    fpr, tpr, _ = roc_curve(targets, scores)
    fnr = 1.0 - tpr
    i = int(np.flatnonzero(fnr <= fpr)[0])
    if i == 0:
        return float(fpr[0])
    d0, d1 = fnr[i - 1] - fpr[i - 1], fnr[i] - fpr[i]
    t = d0 / (d0 - d1)
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


class TrialEqualErrorRate(TrialMetric):
    """Equal error rate of cosine-scored trials (see `TrialMetric`)"""

    higher_is_better: Optional[bool] = False

    def compute(self) -> torch.Tensor:
        scores, targets = self.trials()
        self._check(targets)
        eer = equal_error_rate(targets.cpu().numpy(), scores.cpu().numpy())
        return torch.tensor(eer, dtype=torch.float32)


class TrialAUROC(TrialMetric):
    """Area under the ROC curve of cosine-scored trials (see `TrialMetric`)"""

    higher_is_better: Optional[bool] = True

    def compute(self) -> torch.Tensor:
        scores, targets = self.trials()
        self._check(targets)
        return binary_auroc(scores, targets.long())
