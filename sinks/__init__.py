"""Durable outputs: hourly-partitioned Parquet written before offsets are committed."""
