// The tokenizer interface every tokenizer family implements (Hugging Face tokenizer.json byte-level BPE,
// SentencePiece-style BPE with byte fallback, llama2.c tokenizer.bin).
//
// RPT's reward compares bytes (paper §3.2), so besides text a tokenizer must give the exact bytes of
// every token: `tokenBytes(id)` is the raw byte string a token stands for, so that concatenating the
// bytes of a sequence's tokens reproduces the input bytes exactly.

public protocol Tokenizer: Sendable {
    /// Number of ids (model vocabulary plus added tokens).
    var vocabSize: Int { get }
    /// The beginning-of-sequence id, when the family uses one (Llama: 1; Qwen: none).
    var bosTokenId: Int? { get }
    /// Ids that end generation (e.g. `</s>`, `<|endoftext|>`, `<|im_end|>`).
    var eosTokenIds: [Int] { get }

    /// Encodes text exactly as Hugging Face `tokenizers` `encode(text, add_special_tokens=False)`:
    /// added/special tokens written in the text are matched, but no BOS or template is added.
    func encode(_ text: String) -> [Int]
    /// The raw bytes a token stands for (byte-level BPE: the unmapped bytes; SentencePiece: `▁` → space,
    /// `<0x0A>` → 0x0A). Special tokens give their content's UTF-8 bytes.
    func tokenBytes(_ id: Int) -> [UInt8]
    /// Decodes ids to text as `tokenizers` `decode(ids, skip_special_tokens=False)` does.
    func decode(_ ids: [Int]) -> String
    /// The id of a token written as text (a special token such as `<|im_start|>`, or a vocabulary entry).
    func tokenId(_ token: String) -> Int?
    /// True for added tokens marked special (`<|endoftext|>`, `<s>`, ...).
    func isSpecial(_ id: Int) -> Bool
}

extension Tokenizer {
    /// The concatenated bytes of a sequence of tokens.
    public func bytes(of ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids { out.append(contentsOf: tokenBytes(id)) }
        return out
    }
}
