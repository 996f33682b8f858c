"""svd-explain: explainable voice-disorder detection on the Saarbrücken Voice Database."""
import os

# The workflow never downloads: every model comes from a local folder or the Hugging Face
# cache. huggingface_hub asks the network even with local_files_only unless HF_HUB_OFFLINE is
# set when it is first imported; every job (and the explain command) imports this package
# before it.
os.environ["HF_HUB_OFFLINE"] = "1"
