"""Checks of the relevance maps against planted truth and against the model itself:
localisation (the synthetic corpus's planted cues), deletion faithfulness, randomisation
sanity, and the phone occlusion effects with their intervals."""
