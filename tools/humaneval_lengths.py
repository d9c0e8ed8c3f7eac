"""HumanEval prompt/output token lengths under the OPT tokenizer, as a CSV.

OPT's tokenizer is GPT-2's byte-level BPE (vocab 50257) that also prepends one
BOS token `</s>` to every encoded text. This script mirrors the `humaneval`
branch of DistServe's `evaluation/2-benchmark-serving/0-prepare-dataset.py`
(LLMServe/DistServe, commit 82831f1604cc6b10bebd360f6c437a07790dde9f):

    prompt tokens = len(tokenizer(prompt).input_ids)              (BOS included)
    output tokens = len(tokenizer(canonical_solution).input_ids)  (BOS included)
    a problem is skipped when prompt + output >= 2048

DistServe then repeats the rows 10 times; this script does not: it writes one
row per kept problem, in dataset order, with the columns
`num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio`.

Standard library only. The BPE (byte-to-unicode map, GPT-2's pre-tokenizer
regex, rank-ordered merges) is implemented here. The pre-tokenizer pattern
`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`
needs Unicode classes: if the third-party `regex` module is installed it is
used with that exact pattern; otherwise Python's `re` is used with letters
approximated by `[^\\W\\d_]`, numbers by `\\d`, and "other" as any non-space
character that is neither (this differs only for rare characters such as
letter-like numerals or combining marks; HumanEval's counts are the same either
way, checked when the CSV was made).

Inputs: HumanEval.jsonl or HumanEval.jsonl.gz (openai/human-eval,
data/HumanEval.jsonl.gz), GPT-2's encoder.json (= vocab.json) and vocab.bpe
(= merges.txt).

Run:
    python3 tools/humaneval_lengths.py HumanEval.jsonl.gz encoder.json vocab.bpe \\
        scenarios/data/humaneval_lengths_opt.csv
"""
import argparse
import gzip
import json
import sys

try:
    import regex as _re
    PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    USING_REGEX = True
except ImportError:  # approximation with the standard library
    import re as _re
    PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:(?![^\W\d_]|\d)\S)+|\s+(?!\S)|\s+"""
    USING_REGEX = False

MAX_TOTAL = 2048  # OPT's context; DistServe skips prompt + output >= this
BOS_TOKENS = 1    # OPT prepends </s> to every encoded text


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class GPT2BPE:
    def __init__(self, encoder_path, vocab_bpe_path):
        with open(encoder_path, encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(vocab_bpe_path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(l.split()) for l in lines[1:] if l.strip()]  # line 0: "#version"
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.pat = _re.compile(PATTERN)
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            a, b = best
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for piece in self.pat.findall(text):
            mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(mapped))
        return ids


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("humaneval", help="HumanEval.jsonl or HumanEval.jsonl.gz")
    ap.add_argument("encoder_json", help="GPT-2 encoder.json / vocab.json")
    ap.add_argument("vocab_bpe", help="GPT-2 vocab.bpe / merges.txt")
    ap.add_argument("output_csv")
    args = ap.parse_args()

    tok = GPT2BPE(args.encoder_json, args.vocab_bpe)
    assert len(tok.encoder) == 50257, "not GPT-2's vocabulary"
    assert tok.encode("Hello world") == [15496, 995], "not GPT-2's BPE"

    rows, skipped = [], 0
    for problem in read_jsonl(args.humaneval):
        p = len(tok.encode(problem["prompt"])) + BOS_TOKENS
        d = len(tok.encode(problem["canonical_solution"])) + BOS_TOKENS
        if p + d >= MAX_TOTAL:
            skipped += 1
            continue
        rows.append((p, d))

    with open(args.output_csv, "w", encoding="utf-8", newline="") as f:
        f.write("num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n")
        for p, d in rows:
            f.write(f"{p},{d},{p + d},{p / d!r}\n")
    print(f"{len(rows)} rows ({skipped} skipped, regex module: {USING_REGEX}) -> {args.output_csv}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
