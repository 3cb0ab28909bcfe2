"""RocksDB-backed Faust tables and the mergeable accumulators they hold."""
