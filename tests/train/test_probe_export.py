"""The training-text export behind the copy-required tag: exactly the decoded documents of the
train and recall splits, each followed by a blank line, for any number of decoding processes."""
import gzip

from transformers import AutoTokenizer


def test_export_equals_decoded_documents_for_any_worker_count(prepared, tmp_path):
    from jrt.train.data import TokenSplit
    from jrt.train.probe import export_training_text

    data, manifest, _ = prepared
    tok = AutoTokenizer.from_pretrained(str(data / "tokenizer"))
    expected = []
    for name in ("train", "recall"):
        split = TokenSplit(data, name)
        for d in range(len(split.offsets) - 1):
            expected.append(tok.decode(split.tokens[split.offsets[d]:split.offsets[d + 1]].tolist()) + "\n\n")
    expected = "".join(expected)
    assert "recall" in manifest["splits"] and len(expected) > 10_000
    for workers, chunk_docs in ((1, 2048), (2, 3), (3, 7)):
        out = export_training_text(data, out=tmp_path / f"text_{workers}.txt.gz", workers=workers,
                                   chunk_docs=chunk_docs)
        with gzip.open(out, "rt", encoding="utf-8") as handle:
            assert handle.read() == expected, (workers, chunk_docs)


def test_export_subcommand_writes_the_training_text_beside_the_data(prepared, tmp_path):
    """`python -m jrt.train.probe export`: what `copy_recall.py eval` runs when prepare --probe left it out."""
    import shutil

    from jrt.train.probe import export_training_text, main

    data = shutil.copytree(prepared[0], tmp_path / "data")
    reference = export_training_text(data, out=tmp_path / "reference.txt.gz", workers=1)
    assert main(["export", "--data", str(data), "--workers", "1"]) == 0
    with gzip.open(data / "training_text.txt.gz", "rt", encoding="utf-8") as got, \
            gzip.open(reference, "rt", encoding="utf-8") as want:
        assert got.read() == want.read()
