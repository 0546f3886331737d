"""just-read-twice: JRT-Prompt and JRT-RNN (prefix linear attention) for recurrent language models."""

__version__ = "0.1.0"
