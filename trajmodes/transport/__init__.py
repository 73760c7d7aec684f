"""Heat transport from the MD run itself: the heat current, its Green-Kubo conductivity (cepstral analysis) and the
conductivity's split over the crystal's modes (Green-Kubo modal analysis)."""
