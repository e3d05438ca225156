"""Benchmarks: the codec against python-socketio's own classes and the
standard json module, side by side in one run (ratios are what count on a
noisy machine; see ratios.py)."""
