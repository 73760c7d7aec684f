"""Heat transport from the MD run itself: the heat current and its Green-Kubo conductivity (cepstral analysis)."""
