"""VocalIA Edge: an on-prem AI receptionist that answers phone calls with local models."""

__version__ = "0.1.0"
