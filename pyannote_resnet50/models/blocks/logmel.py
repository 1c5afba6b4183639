"""Log-mel filterbank frontend: the one feature code path of pyannote_resnet50."""

from functools import lru_cache

import torch
import torch.nn as nn
import torchaudio
from pyannote.audio.utils.receptive_field import (
    conv1d_num_frames,
    conv1d_receptive_field_center,
    conv1d_receptive_field_size,
)


class LogMel(nn.Module):
    """Log-mel spectrogram with per-utterance mean normalisation.

    Parameters
    ----------
    sample_rate : int, optional
        Sample rate of input waveforms. Defaults to 16000.
    num_mel_bins : int, optional
        Number of mel bins. Defaults to 80.
    frame_length : float, optional
        Analysis window, in milliseconds. Defaults to 25.
    frame_shift : float, optional
        Hop, in milliseconds. Defaults to 10.
    f_min, f_max : float, optional
        Frequency range of the mel filterbank. Defaults to 20 Hz and Nyquist.
    mean_normalize : bool, optional
        Subtract the per-utterance (per-chunk) mean of each mel bin. Defaults to True.

    Notes
    -----
    Frames are computed without padding (``center=False``), as Kaldi's
    ``snip_edges=True``: ``num_frames = 1 + (num_samples - window) // hop``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        num_mel_bins: int = 80,
        frame_length: float = 25.0,
        frame_shift: float = 10.0,
        f_min: float = 20.0,
        f_max: float = None,
        mean_normalize: bool = True,
    ):
        super().__init__()
        self.sample_rate = sample_rate
        self.num_mel_bins = num_mel_bins
        self.win_length = int(sample_rate * frame_length / 1000)
        self.hop_length = int(sample_rate * frame_shift / 1000)
        self.mean_normalize = mean_normalize
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=self.win_length,
            win_length=self.win_length,
            hop_length=self.hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=num_mel_bins,
            window_fn=torch.hamming_window,
            center=False,
            power=2.0,
        )

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Compute log-mel features

        Parameters
        ----------
        waveforms : (batch, channel, sample) torch.Tensor
            Multi-channel inputs are averaged.

        Returns
        -------
        features : (batch, num_mel_bins, frames) torch.Tensor
        """
        waveforms = waveforms.mean(dim=1)
        with torch.autocast(device_type=waveforms.device.type, enabled=False):
            features = torch.log(self.mel(waveforms.float()) + 1e-6)
        if self.mean_normalize:
            features = features - features.mean(dim=-1, keepdim=True)
        return features

    @lru_cache
    def num_frames(self, num_samples: int) -> int:
        """Number of feature frames for `num_samples` input samples."""
        return conv1d_num_frames(
            num_samples, kernel_size=self.win_length, stride=self.hop_length, padding=0, dilation=1
        )

    def receptive_field_size(self, num_frames: int = 1) -> int:
        """Number of input samples seen by `num_frames` consecutive feature frames."""
        return conv1d_receptive_field_size(
            num_frames, kernel_size=self.win_length, stride=self.hop_length, padding=0, dilation=1
        )

    def receptive_field_center(self, frame: int = 0) -> int:
        """Index of the input sample at the center of feature `frame`."""
        return conv1d_receptive_field_center(
            frame, kernel_size=self.win_length, stride=self.hop_length, padding=0, dilation=1
        )
