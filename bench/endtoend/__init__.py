"""The parts of ``bench/e2e.py``: the processes, the samples, alert latency, the bare-Kafka
limit and the profiles (a package, so ``make bench`` does not run them as scripts)."""
