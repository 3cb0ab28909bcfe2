"""Anomaly detection with no Faust and no broker: detectors, combiner, alert lifecycle.

One :class:`~agents.detection.engine.DetectionEngine` turns each closed 1 s
bucket's :class:`~tables.sliding.DetectorView` into zero or more
:class:`~models.PriceAlert` records; the Faust agent and the backtest both call it.
"""
