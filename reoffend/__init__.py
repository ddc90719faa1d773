"""reoffend: proven reoffending statistics from prison release and court conviction records."""

__version__ = "0.1.0"
