"""``marketprism demo``: the whole pipeline once, on the exchange simulator.

See :mod:`app.demo.run`.
"""

from app.demo.run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
