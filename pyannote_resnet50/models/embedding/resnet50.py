"""ResNet50 speaker embedding over log-mel features."""

import warnings
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from pyannote.audio.core.model import Model
from pyannote.audio.core.task import Task
from pyannote.audio.models.blocks.pooling import StatsPool
from pyannote.audio.utils.receptive_field import (
    multi_conv_num_frames,
    multi_conv_receptive_field_center,
    multi_conv_receptive_field_size,
)
from pyannote.core import SlidingWindow
from torchaudio.transforms import FrequencyMasking, TimeMasking
from torchvision.models.resnet import Bottleneck

from pyannote_resnet50.models.blocks.logmel import LogMel

#: number of Bottleneck blocks per stage of ResNet50
RESNET50_LAYERS = (3, 4, 6, 3)
#: stride of the first Bottleneck of each stage
RESNET50_STRIDES = (1, 2, 2, 2)


class ResNet50(Model):
    """ResNet50 speaker embedding

    waveform -> :class:`~pyannote_resnet50.models.blocks.LogMel` -> 1-channel
    stem -> ResNet50 stages (torchvision ``Bottleneck``, [3, 4, 6, 3] blocks) ->
    statistics pooling over time (mean and standard deviation of the flattened
    channel x frequency features, optionally weighted) -> linear embedding.

    Parameters
    ----------
    sample_rate : int, optional
        Audio sample rate. Defaults to 16kHz.
    num_channels : int, optional
        Number of input channels (averaged by the frontend). Defaults to mono.
    num_mel_bins : int, optional
        Number of mel bins. Defaults to 80.
    frame_length : float, optional
        Analysis window of the frontend, in milliseconds. Defaults to 25.
    frame_shift : float, optional
        Hop of the frontend, in milliseconds. Defaults to 10.
    f_min, f_max : float, optional
        Frequency range of the mel filterbank. Defaults to 20 Hz and Nyquist.
    mean_normalize : bool, optional
        Subtract the per-chunk mean of each mel bin. Defaults to True.
    base_width : int, optional
        Number of channels of the first stage (output of stage i has
        ``4 x base_width x 2^i`` channels). Defaults to 32 as WeSpeaker's ResNets;
        64 reproduces torchvision's ResNet50.
    stem_kernel_size : int, optional
        Kernel size of the stem convolution. Defaults to 3 (WeSpeaker);
        torchvision uses 7.
    stem_stride : int, optional
        Stride of the stem convolution. Defaults to 1 (WeSpeaker);
        torchvision uses 2.
    stem_max_pool : bool, optional
        Apply torchvision's 3x3, stride 2 max-pooling after the stem.
        Defaults to False (WeSpeaker).
    dimension : int, optional
        Dimension of the speaker embedding. Defaults to 256.
    freq_mask_width, time_mask_width : int, optional
        SpecAugment (Park et al., Interspeech 2019) during training only: one band
        of up to `freq_mask_width` mel bins and one span of up to `time_mask_width`
        frames of each training chunk's log-mel features are set to the chunk mean
        (0 after mean normalisation). Defaults to 0 (off). Inference is unaffected.
    pretrained : str or Path, optional
        LOCAL file holding a state dict to initialise the network from, e.g. a
        torchvision ImageNet ``resnet50`` state dict (its RGB stem kernels are
        averaged into one input channel; layers whose shape does not match,
        and keys with no counterpart, are skipped with a warning). Nothing is
        ever downloaded. Not saved in the hyper-parameters: checkpoints carry
        the weights themselves.
    task : Task, optional
        Task addressed by the model.

    Notes
    -----
    Frame-level contract (the same as pyannote.audio's WeSpeaker ResNets):

    * ``forward_frames(waveforms)`` returns ``(batch, channel, frequency, frames)``
      features; consecutive frames are ``frames_sliding_window().step`` seconds
      apart (``8 x frame_shift x stem_stride x (2 if stem_max_pool else 1)``, i.e.
      80 ms with default parameters) and frame ``i`` is centered at
      ``frames_sliding_window()[i].middle`` seconds from the start of the input;
      ``num_frames(num_samples)`` gives their number.
    * ``forward_embedding(frames, weights=None)`` pools them into embeddings;
      ``weights`` (batch, frames) or (batch, speakers, frames) may come at any
      frame rate: they are resampled (nearest) to the number of frames.
    * ``forward(waveforms, weights)`` is
      ``forward_embedding(forward_frames(waveforms), weights)``.

    Running ``forward_frames`` once over long audio and pooling sub-ranges of
    frames is what ``forward`` on each crop would do up to the border effects of
    convolutions and of the per-chunk mean normalisation of the frontend.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        num_channels: int = 1,
        num_mel_bins: int = 80,
        frame_length: float = 25.0,
        frame_shift: float = 10.0,
        f_min: float = 20.0,
        f_max: Optional[float] = None,
        mean_normalize: bool = True,
        base_width: int = 32,
        stem_kernel_size: int = 3,
        stem_stride: int = 1,
        stem_max_pool: bool = False,
        dimension: int = 256,
        freq_mask_width: int = 0,
        time_mask_width: int = 0,
        pretrained: Optional[Union[str, Path]] = None,
        task: Optional[Task] = None,
    ):
        super().__init__(sample_rate=sample_rate, num_channels=num_channels, task=task)

        self.save_hyperparameters(
            "sample_rate",
            "num_channels",
            "num_mel_bins",
            "frame_length",
            "frame_shift",
            "f_min",
            "f_max",
            "mean_normalize",
            "base_width",
            "stem_kernel_size",
            "stem_stride",
            "stem_max_pool",
            "dimension",
            "freq_mask_width",
            "time_mask_width",
        )

        self.logmel = LogMel(
            sample_rate=sample_rate,
            num_mel_bins=num_mel_bins,
            frame_length=frame_length,
            frame_shift=frame_shift,
            f_min=f_min,
            f_max=f_max,
            mean_normalize=mean_normalize,
        )
        # SpecAugment, active in training mode only (the masking transforms are
        # no-ops for a width of 0)
        self.spec_augment = nn.Sequential(
            FrequencyMasking(freq_mask_width, iid_masks=True),
            TimeMasking(time_mask_width, iid_masks=True),
        )

        # stem: same names as torchvision's resnet50 so that its weights map 1:1
        self.conv1 = nn.Conv2d(
            1,
            base_width,
            kernel_size=stem_kernel_size,
            stride=stem_stride,
            padding=stem_kernel_size // 2,
            bias=False,
        )
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = (
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            if stem_max_pool
            else nn.Identity()
        )

        inplanes = base_width
        for i, (num_blocks, stride) in enumerate(zip(RESNET50_LAYERS, RESNET50_STRIDES)):
            planes = base_width * 2**i
            blocks = []
            for b in range(num_blocks):
                block_stride = stride if b == 0 else 1
                downsample = None
                if block_stride != 1 or inplanes != planes * Bottleneck.expansion:
                    downsample = nn.Sequential(
                        nn.Conv2d(
                            inplanes,
                            planes * Bottleneck.expansion,
                            kernel_size=1,
                            stride=block_stride,
                            bias=False,
                        ),
                        nn.BatchNorm2d(planes * Bottleneck.expansion),
                    )
                blocks.append(
                    Bottleneck(inplanes, planes, stride=block_stride, downsample=downsample)
                )
                inplanes = planes * Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))

        # zero-init the last BN of each residual branch (identity residual at init)
        for module in self.modules():
            if isinstance(module, Bottleneck):
                nn.init.zeros_(module.bn3.weight)

        self.pooling = StatsPool()
        self.embedding = nn.Linear(2 * self.frame_features, dimension)

        if pretrained is not None:
            self.load_pretrained(pretrained)

    # ------------------------------------------------------------------ shapes

    @property
    def dimension(self) -> int:
        """Dimension of the speaker embedding"""
        return self.hparams.dimension

    @cached_property
    def _frequency_bins(self) -> int:
        """Number of frequency bins at the output of the last stage"""
        bins = self._time_or_frequency(self.hparams.num_mel_bins)
        return bins

    @property
    def frame_features(self) -> int:
        """Number of features per frame of `forward_frames` (channel x frequency)"""
        return 8 * Bottleneck.expansion * self.hparams.base_width * self._frequency_bins

    def _kernels(self):
        """Time-axis (kernel_size, stride, padding) of every strided operation"""
        k = self.hparams.stem_kernel_size
        kernel_size, stride, padding = [k], [self.hparams.stem_stride], [k // 2]
        if self.hparams.stem_max_pool:
            kernel_size.append(3)
            stride.append(2)
            padding.append(1)
        for num_blocks, first_stride in zip(RESNET50_LAYERS, RESNET50_STRIDES):
            for b in range(num_blocks):
                # Bottleneck: 1x1, 3x3 (strided), 1x1
                kernel_size.extend([1, 3, 1])
                stride.extend([1, first_stride if b == 0 else 1, 1])
                padding.extend([0, 1, 0])
        return kernel_size, stride, padding

    def _time_or_frequency(self, num_bins: int) -> int:
        """Size of the time or frequency axis after the convolutional stack"""
        kernel_size, stride, padding = self._kernels()
        return multi_conv_num_frames(
            num_bins,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=[1] * len(kernel_size),
        )

    @lru_cache
    def num_frames(self, num_samples: int) -> int:
        """Compute number of output frames of `forward_frames`

        Parameters
        ----------
        num_samples : int
            Number of input samples.

        Returns
        -------
        num_frames : int
            Number of output frames.
        """
        return self._time_or_frequency(self.logmel.num_frames(num_samples))

    def receptive_field_size(self, num_frames: int = 1) -> int:
        """Compute size of receptive field

        Parameters
        ----------
        num_frames : int, optional
            Number of frames in the output signal

        Returns
        -------
        receptive_field_size : int
            Receptive field size, in samples.
        """
        kernel_size, stride, padding = self._kernels()
        size = multi_conv_receptive_field_size(
            num_frames,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=[1] * len(kernel_size),
        )
        return self.logmel.receptive_field_size(size)

    def receptive_field_center(self, frame: int = 0) -> int:
        """Compute center of receptive field

        Parameters
        ----------
        frame : int, optional
            Frame index

        Returns
        -------
        receptive_field_center : int
            Index of receptive field center, in samples.
        """
        kernel_size, stride, padding = self._kernels()
        center = multi_conv_receptive_field_center(
            frame,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=[1] * len(kernel_size),
        )
        return self.logmel.receptive_field_center(center)

    def frames_sliding_window(self) -> SlidingWindow:
        """Temporal position of the frames of `forward_frames`, in seconds

        Returns
        -------
        frames : SlidingWindow
            ``frames[i]`` is the receptive field of frame ``i`` (relative to the
            start of the input), ``frames.step`` the time between frames.
        """
        return self.receptive_field

    @property
    def frames_per_second(self) -> float:
        """Frame rate of `forward_frames` output"""
        return 1.0 / self.frames_sliding_window().step

    # ---------------------------------------------------------------- forward

    def forward_frames(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Extract frame-wise features

        Parameters
        ----------
        waveforms : (batch, channel, sample) torch.Tensor
            Batch of waveforms.

        Returns
        -------
        frames : (batch, channel, frequency, frames) torch.Tensor
            Output of the last ResNet stage. ``frames`` is
            ``self.num_frames(sample)``, at ``self.frames_per_second``.
        """
        features = self.logmel(waveforms).unsqueeze(1)
        # (batch, 1, num_mel_bins, frames)
        if self.training and (self.hparams.freq_mask_width or self.hparams.time_mask_width):
            features = self.spec_augment(features)
        outputs = self.maxpool(self.relu(self.bn1(self.conv1(features))))
        outputs = self.layer1(outputs)
        outputs = self.layer2(outputs)
        outputs = self.layer3(outputs)
        return self.layer4(outputs)

    def forward_embedding(
        self, frames: torch.Tensor, weights: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Extract speaker embeddings from frame-wise features

        Parameters
        ----------
        frames : (batch, channel, frequency, frames) torch.Tensor
            Output of `forward_frames` (or any range of its frames).
        weights : (batch, frames) or (batch, speakers, frames) torch.Tensor, optional
            Weights of the statistics pooling, at any frame rate: they are
            resampled (nearest) to the number of `frames`.

        Returns
        -------
        embeddings : (batch, dimension) or (batch, speakers, dimension) torch.Tensor
            Batch of embeddings.
        """
        batch_size, _, _, num_frames = frames.shape
        if num_frames < 2:
            raise ValueError(
                f"Statistics pooling needs at least 2 frames (got {num_frames}): "
                f"input is too short for {self.__class__.__name__}."
            )
        sequences = frames.reshape(batch_size, -1, num_frames)
        # (batch, channel x frequency, frames)
        if weights is not None:
            has_speakers = weights.dim() == 3
            weights = weights if has_speakers else weights.unsqueeze(1)
            if weights.shape[-1] != num_frames:
                weights = F.interpolate(weights.float(), size=num_frames, mode="nearest")
            weights = weights if has_speakers else weights.squeeze(1)
        return self.embedding(self.pooling(sequences, weights=weights))

    def forward(
        self, waveforms: torch.Tensor, weights: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Extract speaker embeddings

        Parameters
        ----------
        waveforms : (batch, channel, sample) torch.Tensor
            Batch of waveforms.
        weights : (batch, frames) or (batch, speakers, frames) torch.Tensor, optional
            Weights of the statistics pooling (see `forward_embedding`).

        Returns
        -------
        embeddings : (batch, dimension) or (batch, speakers, dimension) torch.Tensor
            Batch of embeddings.
        """
        return self.forward_embedding(self.forward_frames(waveforms), weights=weights)

    # ------------------------------------------------------------- pretrained

    def load_pretrained(self, path: Union[str, Path]) -> Dict[str, List[str]]:
        """Initialise weights from a local state dict

        Parameters
        ----------
        path : str or Path
            Local file holding a state dict (or a checkpoint with a "state_dict"
            key), e.g. torchvision's ImageNet ``resnet50`` weights. A 3-channel
            stem kernel is averaged over its input channels.

        Returns
        -------
        report : dict
            "loaded", "skipped" (shape mismatch) and "unexpected" keys.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"pretrained weights '{path}' not found: {self.__class__.__name__} only "
                f"initialises from a local file (nothing is downloaded)."
            )
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
        if "state_dict" in state_dict:
            state_dict = state_dict["state_dict"]

        own = self.state_dict()
        loaded, skipped, unexpected = [], [], []
        for key, value in state_dict.items():
            if key not in own:
                unexpected.append(key)
                continue
            if key == "conv1.weight" and value.dim() == 4 and value.shape[1] == 3:
                value = value.mean(dim=1, keepdim=True)
            if value.shape != own[key].shape:
                skipped.append(key)
                continue
            own[key] = value
            loaded.append(key)
        self.load_state_dict(own)

        if skipped:
            warnings.warn(
                f"{len(skipped)} tensors of '{path}' were skipped (shape mismatch), "
                f"e.g. {', '.join(skipped[:3])}."
            )
        if unexpected:
            warnings.warn(
                f"{len(unexpected)} tensors of '{path}' have no counterpart in "
                f"{self.__class__.__name__} and were ignored, e.g. {', '.join(unexpected[:3])}."
            )
        return {"loaded": loaded, "skipped": skipped, "unexpected": unexpected}
