"""Data shipped with the package: the NCBI-disease corpus (public domain), inside it, and the
pretrained models (BiLMs, taggers) in the checkout's checkpoints/ directory."""
import os

RESOURCES_DIR = os.path.dirname(os.path.abspath(__file__))
NCBI_DISEASE_DIR = os.path.join(RESOURCES_DIR, "ncbi_disease")
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(RESOURCES_DIR)), "checkpoints")
