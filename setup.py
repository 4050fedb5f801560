"""tf_bilm_ner: biomedical NER with bidirectional language model transfer (TensorFlow/Keras)."""
from setuptools import find_packages, setup

TOOLS = ["train_tagger", "evaluate", "benchmark_tagger", "benchmark_bilm", "shard_corpus",
         "train_bilm", "summarize_results", "transfer_checkpoint", "export_saved_model",
         "predict", "benchmark_serving", "benchmark_raw_text", "profile_serving", "package_bilm",
         "run_pipeline", "vocab_coverage", "package_tagger", "benchmark_lstm_step",
         "pack_lm_corpus", "train_bilm_torch", "import_bilm_weights",
         "benchmark_served_recurrence", "probe_entity_threshold",
         "vote_predictions"]

setup(
    name="tf_bilm_ner",
    version="0.1.0",
    description="Biomedical NER: char-CNN + BiLSTM + CRF taggers initialised from a "
                "pretrained bidirectional language model (Sachan et al. 2018).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9,<3.12",
    # tools/ holds the absl binaries; installed as the package tf_bilm_ner_tools so that
    # the console entry points work without putting a generic `tools` package on sys.path.
    packages=find_packages(include=["tf_bilm_ner", "tf_bilm_ner.*"]) + ["tf_bilm_ner_tools"],
    package_dir={"tf_bilm_ner_tools": "tools"},
    package_data={"tf_bilm_ner.resources": ["ncbi_disease/*"]},
    install_requires=[
        # tensorflow-addons 0.23.0 (its last release) imports only with TF >=2.13,<2.16.
        "tensorflow>=2.15,<2.16",
        "tensorflow-addons==0.23.0",
        "numpy>=1.23,<2",
        "absl-py>=1.0",
        "sentencepiece>=0.1.99",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3.5,<4", "seqeval==1.2.2", "hypothesis>=6.50"],
        # results plots (tools/summarize_results.py); 3.10+ needs numpy 2 on some platforms
        "plots": ["matplotlib>=3.5,<3.10"],
        # tools/train_bilm_torch.py (tf_bilm_ner/torch_port): pretraining on a GPU machine
        # without this TensorFlow; only torch, numpy and absl-py are imported there.
        "torch": ["torch>=2.1"],
    },
    entry_points={"console_scripts": [
        f"tf-bilm-{name.replace('_', '-')}=tf_bilm_ner_tools.{name}:run" for name in TOOLS]},
)
