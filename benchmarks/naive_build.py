"""The baseline for benchmarks/build_speed.py: what a study script does.

For each clip and each grid setting: render with the effect (pedalboard),
compute the dry and the wet Mel spectrogram one at a time with torchaudio,
and np.save each, one file per array. The Mel transform is made once, which
is generous to the baseline.

    python benchmarks/naive_build.py FOLDER EFFECT OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torchaudio
from pedalboard.io import AudioFile

from fxregistry import registry

SAMPLE_RATE = 44100
CLIP = 2 * SAMPLE_RATE


def main(folder: str, effect_name: str, out_dir: str) -> None:
    effect = registry.get_effect(effect_name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=1024, hop_length=512, n_mels=128
    )
    n = 0
    for path in sorted(Path(folder).rglob("*.wav")):
        with AudioFile(str(path)) as f:
            audio = f.read(f.frames).mean(axis=0)
            rate = f.samplerate
        if rate != SAMPLE_RATE:
            audio = torchaudio.functional.resample(torch.from_numpy(audio), int(rate), SAMPLE_RATE)
            audio = audio.numpy()
        for k in range(audio.size // CLIP):
            clip = audio[k * CLIP : (k + 1) * CLIP]
            if 20 * np.log10(np.sqrt(np.mean(clip**2)) + 1e-12) < -60:
                continue
            clip = (clip * (10 ** (-1 / 20) / np.abs(clip).max())).astype(np.float32)
            for setting in effect.grid():
                wet = effect(clip, SAMPLE_RATE, **setting)
                dry_mel = 10 * torch.log10(mel(torch.from_numpy(clip)) + 1e-10)
                wet_mel = 10 * torch.log10(mel(torch.from_numpy(wet)) + 1e-10)
                np.save(out / f"{n:07d}_dry.npy", dry_mel.numpy())
                np.save(out / f"{n:07d}_wet.npy", wet_mel.numpy())
                np.save(out / f"{n:07d}_params.npy", np.array(list(setting.values()), np.float32))
                n += 1
    print(n)


if __name__ == "__main__":
    main(*sys.argv[1:4])
