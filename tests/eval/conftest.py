"""Fixtures shared by the evaluation tests."""
import pytest


@pytest.fixture(scope="session")
def tiny_hf_models(tmp_path_factory, gpt2_tokenizer_path):
    """Random tiny Llama and Mamba2 saved to local folders with the GPT-2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Mamba2Config, Mamba2ForCausalLM

    root = tmp_path_factory.mktemp("tiny_models")
    tok = AutoTokenizer.from_pretrained(str(gpt2_tokenizer_path))
    ids = dict(bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                                         max_position_embeddings=2048, **ids))
    mamba2 = Mamba2ForCausalLM(Mamba2Config(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2,
                                            state_size=16, expand=2, head_dim=16, num_heads=8, n_groups=1,
                                            chunk_size=32, **ids))
    paths = {}
    for name, model in (("llama", llama), ("mamba2", mamba2)):
        model.save_pretrained(root / name)
        tok.save_pretrained(root / name)
        paths[name] = root / name
    return paths
