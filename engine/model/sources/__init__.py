"""The built-in model sources. Importing a module registers its source; the order of the lines below is
the order in which load_model() asks them. A new source is one module here and one line below."""
from engine.model.sources import zoo  # noqa: F401  mlp, cnn, lstm, gru, transformer, branchy
from engine.model.sources import huggingface  # noqa: F401  gpt2, bert, minilm
from engine.model.sources import pydoc_gpt  # noqa: F401  pydoc-gpt (real weights in weights/)
from engine.model.sources import digits_cnn  # noqa: F401  digits-cnn (real weights in weights/)
from engine.model.sources import torchvision  # noqa: F401  resnet50, vit_b_16, ... (random weights)
from engine.model.sources import hf_config  # noqa: F401  ./model-folder/, config.json, llama3-70b ... (configs)
from engine.model.sources import onnx_file  # noqa: F401  model.onnx (onnx + onnxruntime)
from engine.model.sources import saved_program  # noqa: F401  model.pt2 (torch.export), TorchScript .pt
from engine.model.sources import user  # noqa: F401  package.module:callable, path/file.py:callable
