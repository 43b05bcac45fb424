"""A tiny model with BGE-M3's architecture, built locally for plumbing tests.

It is NOT BGE-M3: an XLM-RoBERTa encoder of 2 layers and width 32 with random
(seeded) weights, a Unigram tokenizer trained here on a few sentences, and the two
heads (``colbert_linear.pt``, ``sparse_linear.pt``) FlagEmbedding expects, saved in
the released model's folder layout. It exercises the real loading code
(``BGEM3FlagModel``), storage of dense and sparse outputs and search plumbing; its
vectors mean nothing, so tests assert only what holds for any model (a text is
nearest to itself).
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Max, our puppy, fell asleep on the sofa after his long walk in the park.",
    "Invoice INV-2024-0042 from Velo Works: one city bicycle with a bell and a basket.",
    "Friday dinner: we baked a pizza with mushrooms and olives.",
    "订单号 8843：给爸爸买的咖啡机，周六上午送到。",
    "我家的小狗每天早上都在公园里跑来跑去。",
    "The kitten goes to the vet on Thursday for her second vaccination.",
    "Road trip diary, summer in Norway: the ferry, the fjord and the midnight sun.",
]


def build_tiny_bge_m3(folder: Path, *, hidden: int = 32, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..4
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(CORPUS * 20, trainers.UnigramTrainer(vocab_size=400, special_tokens=specials,
                                                                        unk_token="<unk>"))  # fmt: skip
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    XLMRobertaTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    ).save_pretrained(folder)  # fmt: skip

    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=hidden * 2, max_position_embeddings=514, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2,
    )  # fmt: skip
    XLMRobertaModel(config).save_pretrained(folder, safe_serialization=True)
    torch.save(torch.nn.Linear(hidden, hidden).state_dict(), folder / "colbert_linear.pt")
    torch.save(torch.nn.Linear(hidden, 1).state_dict(), folder / "sparse_linear.pt")
    return folder
