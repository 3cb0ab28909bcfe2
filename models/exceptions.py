"""The one exception hierarchy of MarketPrism."""


class MarketPrismError(Exception):
    """Base class of every error MarketPrism raises on purpose."""


class DecodeError(MarketPrismError):
    """Bytes from Kafka (or an exchange) could not be turned into a model.

    ``reason`` is short and human-readable; it is what a dead-letter record
    carries.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigError(MarketPrismError):
    """A setting has a bad value; the message names the setting."""
