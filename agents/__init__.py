"""Faust agents: windowed analytics, the anomaly detector and the sinks' consumers.

Agents import from ``tables``, ``app`` and ``models``; they never import each other.
"""
