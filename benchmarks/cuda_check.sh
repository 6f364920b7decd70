#!/bin/bash
# The CUDA path, end to end, on a machine with a GPU; fxr and its test packages installed.
#
#     bash benchmarks/cuda_check.sh
#
# CI has no GPU, so this is what a session lent one runs (docs/benchmarks.md):
# the tests that touch devices, checkpoints, distributed training and
# serving; then fit, resume, export and estimate with --device cuda, and
# torchrun asked for more processes than there are GPUs (one clear line each).
set -u
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
python3 -c 'import torch, onnxruntime; print("torch", torch.__version__, torch.cuda.get_device_name(0), "onnxruntime", onnxruntime.__version__, onnxruntime.get_available_providers())'
echo "=== tests"
python3 -m pytest -q -p no:cacheprovider \
  "tests/test_cli.py::test_an_interrupted_fit_says_how_to_resume_and_that_works" \
  tests/test_damaged_files.py tests/test_portable.py tests/test_default_estimators.py \
  tests/test_distributed.py tests/test_fit.py tests/test_evidence.py tests/test_resample.py \
  tests/test_features.py 2>&1 | tail -3
W=$(mktemp -d)
fxr build --effect delay --source synth:4 --max-clips 24 --seed 1 --out "$W/d.h5" >/dev/null
echo "=== fit on cuda, then resume the finished run on cuda"
fxr fit --data "$W/d.h5" --epochs 2 --device cuda --out "$W/run" 2>&1 | tail -2
fxr fit --resume --out "$W/run" --device cuda 2>&1 | tail -1; echo "rc=$?"
echo "=== torchrun, 2 processes per GPU on a machine of $(python3 -c 'import torch; print(torch.cuda.device_count())') GPU(s)"
timeout -k 5 90 torchrun --standalone --nproc-per-node 2 "$(which fxr)" fit --data "$W/d.h5" \
  --epochs 1 --device cuda --out "$W/run2" >"$W/torchrun.log" 2>&1; echo "rc=$?"
grep "fxr: error" "$W/torchrun.log" | sort | uniq -c
echo "=== export, then estimate with the run and with its export on cuda"
fxr export "$W/run" "$W/m.onnx"
python3 - "$W" <<'PY'
import sys
import numpy as np
from fxregistry import registry
from fxregistry.audio.io import write_audio
from fxr_plugins.synth import synthesize_take
x = synthesize_take(3, 0)[: 4 * 44100]
x = (x / np.abs(x).max() * 0.5).astype(np.float32)
write_audio(f"{sys.argv[1]}/dry.wav", x, 44100)
write_audio(f"{sys.argv[1]}/wet.wav", registry.get_effect("delay")(x, 44100, delay_seconds=0.25), 44100)
PY
fxr estimate "$W/run" "$W/wet.wav" --dry "$W/dry.wav" --device cuda --json | head -c 200; echo
fxr estimate "$W/m.onnx" "$W/wet.wav" --dry "$W/dry.wav" --device cuda --json | head -c 200; echo
echo "=== the shipped estimators, --device cuda"
fxr estimate "$W/wet.wav" --device cuda | tail -3
rm -rf "$W"
