// Loads a tokenizer from disk, choosing the format from the path:
//   a directory            its tokenizer.json, or failing that a llama2.c tokenizer.bin / tok*.bin, or failing
//                          that a GPT-2 style vocab.json + merges.txt (VocabMergesTokenizer.swift)
//   …/vocab.json, …/merges.txt   with the other file beside it: that vocab.json + merges.txt pair
//   *.json                 a Hugging Face tokenizer.json
//   *.bin                  a llama2.c tokenizer.bin
//   anything else          sniffed: JSON if the first non-blank byte is '{', else llama2.c
// For tokenizer.json, bos/eos names come from a tokenizer_config.json in the same directory when there is one.

import Foundation

/// Loads a tokenizer (Hugging Face tokenizer.json, llama2.c tokenizer.bin, GPT-2 vocab.json + merges.txt, or a
/// directory holding one).
/// Every problem (missing file, malformed JSON, unsupported model or pre-tokenizer, truncated .bin) is an
/// `RPTError` naming the file.
public func loadTokenizer(path: String) throws -> any Tokenizer {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw RPTError("tokenizer file not found", file: path)
    }
    if isDirectory.boolValue {
        let dir = URL(fileURLWithPath: path)
        let json = dir.appendingPathComponent("tokenizer.json").path
        if FileManager.default.fileExists(atPath: json) { return try loadHFTokenizer(path: json) }
        let bins = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0 == "tokenizer.bin" || ($0.hasPrefix("tok") && $0.hasSuffix(".bin")) }.sorted()
        if let bin = bins.first { return try Llama2cTokenizer(path: dir.appendingPathComponent(bin).path) }
        if let pair = VocabMergesFiles.inDirectory(path) { return try loadVocabMergesTokenizer(pair) }
        for (have, lack) in [(VocabMergesFiles.vocabName, VocabMergesFiles.mergesName),
                             (VocabMergesFiles.mergesName, VocabMergesFiles.vocabName)]
        where FileManager.default.fileExists(atPath: dir.appendingPathComponent(have).path) {
            throw RPTError("directory has \(have) but no \(lack) (a GPT-2 style tokenizer needs both)", file: path)
        }
        throw RPTError("directory has no tokenizer.json, vocab.json + merges.txt, or llama2.c tokenizer.bin", file: path)
    }
    if let pair = VocabMergesFiles.forFile(path) { return try loadVocabMergesTokenizer(pair) }
    let name = (path as NSString).lastPathComponent
    if name == VocabMergesFiles.vocabName || name == VocabMergesFiles.mergesName {
        let other = name == VocabMergesFiles.vocabName ? VocabMergesFiles.mergesName : VocabMergesFiles.vocabName
        throw RPTError("a GPT-2 style tokenizer needs \(other) beside \(name)", file: path)
    }
    let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
    if ext == "json" { return try loadHFTokenizer(path: path) }
    if ext == "bin" { return try Llama2cTokenizer(path: path) }
    if ext == "model" {
        throw RPTError("SentencePiece .model files are not supported; convert to tokenizer.json with transformers", file: path)
    }
    let bytes = try readTokenizerFile(path)
    if bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{") {
        return try HFTokenizer(json: bytes, file: path, specialTokens: try specialTokenNames(near: path))
    }
    return try Llama2cTokenizer(bytes: bytes, file: path)
}

/// Loads a Hugging Face tokenizer.json (with bos/eos from a sibling tokenizer_config.json when present).
public func loadHFTokenizer(path: String) throws -> HFTokenizer {
    let bytes = try readTokenizerFile(path)
    return try HFTokenizer(json: bytes, file: path, specialTokens: try specialTokenNames(near: path))
}

func readTokenizerFile(_ path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw RPTError("tokenizer file not found", file: path) }
    do {
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        throw RPTError("cannot read tokenizer file: \(error.localizedDescription)", file: path)
    }
}

/// bos/eos names from tokenizer_config.json next to `path`, or none.
private func specialTokenNames(near path: String) throws -> SpecialTokenNames {
    let config = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("tokenizer_config.json").path
    guard FileManager.default.fileExists(atPath: config) else { return SpecialTokenNames() }
    return try SpecialTokenNames.read(tokenizerConfig: config)
}
