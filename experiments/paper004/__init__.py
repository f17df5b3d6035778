"""Paper 004 (Wang et al., Electronics 2025): EV-station shared storage siting on IEEE 33."""
