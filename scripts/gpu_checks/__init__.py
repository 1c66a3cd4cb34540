"""The pieces of ``scripts/gpu_check.py`` (the device kit's check) and ``scripts/pack_device_kit.py``.

- :mod:`gpu_checks.kit`: what the kit holds, packing it and installing it (standard library only,
  so it runs before genexp's dependencies are importable);
- :mod:`gpu_checks.probe`: the callback that measures steps/s and peak memory in a run;
- :mod:`gpu_checks.runs`: every model in both precisions, DDP with one device, the evaluate entry point;
- :mod:`gpu_checks.timing`: genexp against a plain loop, Inception throughput, one FID;
- :mod:`gpu_checks.report`: the JSON and the markdown table.
"""
