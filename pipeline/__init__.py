"""wirewatch: poll news feeds, extract, fold wire copies, tag who said what, index, alert."""

__version__ = "0.1.0"
