"""svd-explain: explainable voice-disorder detection on the Saarbrücken Voice Database."""
