"""opsbot: ChatOps for the NBA player-props prediction platform."""

__version__ = "0.1.0"
