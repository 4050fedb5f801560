"""Data shipped inside the package: the NCBI-disease corpus (public domain)."""
import os

RESOURCES_DIR = os.path.dirname(os.path.abspath(__file__))
NCBI_DISEASE_DIR = os.path.join(RESOURCES_DIR, "ncbi_disease")
