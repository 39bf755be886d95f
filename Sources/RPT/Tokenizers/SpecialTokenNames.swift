// Which tokens begin and end a sequence. Hugging Face keeps these in tokenizer_config.json (`bos_token`,
// `eos_token`: a string, or an AddedToken object with "content"); without it we fall back to well-known names.

import Foundation

public struct SpecialTokenNames: Sendable, Equatable {
    public var bos: String?
    public var eos: String?

    public init(bos: String? = nil, eos: String? = nil) {
        self.bos = bos
        self.eos = eos
    }

    static let wellKnownBOS = ["<s>", "<｜begin▁of▁sentence｜>", "<|begin_of_text|>"]
    static let wellKnownEOS = ["<|endoftext|>", "<|im_end|>", "</s>", "<｜end▁of▁sentence｜>", "<|eot_id|>", "<|end_of_text|>"]

    /// Reads bos_token / eos_token from a tokenizer_config.json (nil values when the file lacks them).
    static func read(tokenizerConfig path: String) throws -> SpecialTokenNames {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RPTError("cannot read tokenizer config: \(error.localizedDescription)", file: path)
        }
        let root = try JSONReader.parse([UInt8](data), file: path)
        guard root.objectValue != nil else { throw RPTError("tokenizer_config.json is not a JSON object", file: path) }
        func name(_ key: String) -> String? {
            guard let v = root[key] else { return nil }
            return v.stringValue ?? v["content"]?.stringValue
        }
        return SpecialTokenNames(bos: name("bos_token"), eos: name("eos_token"))
    }

    /// Resolves names to ids: the configured eos first, then every well-known end token the vocabulary marks
    /// special; the configured bos, else the first well-known one that exists as a special token.
    func resolve(tokenId: (String) -> Int32?, isSpecial: (Int32) -> Bool) -> (bos: Int?, eos: [Int]) {
        var eos: [Int] = []
        if let e = self.eos, let id = tokenId(e) { eos.append(Int(id)) }
        for name in SpecialTokenNames.wellKnownEOS {
            if let id = tokenId(name), isSpecial(id), !eos.contains(Int(id)) { eos.append(Int(id)) }
        }
        var bos: Int? = nil
        if let b = self.bos, let id = tokenId(b) {
            bos = Int(id)
        } else if self.bos == nil {
            for name in SpecialTokenNames.wellKnownBOS {
                if let id = tokenId(name), isSpecial(id) { bos = Int(id); break }
            }
        }
        return (bos, eos)
    }
}
