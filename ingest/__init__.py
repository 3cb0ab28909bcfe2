"""Exchange adapters (one module per venue), the connection loop and the Kafka producer."""
