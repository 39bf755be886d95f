// A synthetic next-token task where writing intermediate steps helps (docs/method.md §7.2: "computable but
// hard" tokens), used by RPTLearningTests.
//
// The task: a queue. A document lists 6 digits; an odd digit is an arrival (+1), an even digit a departure
// (−1, ignored when the queue is empty); after "=" comes the final queue length and ".":
//
//     "3 8 6 5 1 4=1."        3: 1   8: 0   6: 0 (empty)   5: 1   1: 2   4: 1
//
// The trained position is the answer token ("1" after "="). Because of the floor at 0 the answer depends on the
// ORDER of the digits, not only on how many are odd, so a tiny transformer has to track the queue through the
// sequence; in one forward pass it only approximates that (the control test measures it). Written as a chain
// of thought, every step is easy: copy the next digit, then move the running length up or down by one.
//
// Reasoning format (the SFT completion; the prompt is the context, generation starts right after "="):
//
//     "318060511241</think>\boxed{1}"    — pairs (digit, queue length after it): 31 80 60 51 12 41, then
//                                          the answer after "</think>" in \boxed{}.
//
// Under the stories260K tokenizer every digit is one token and the spaces of the context are "▁" tokens, so
// the context has two tokens per digit and the reasoning two tokens per step: the digit a step copies is always
// at the same distance back, which a 2-layer model learns quickly.
//
// Positions are `rpt-positions/1` records built exactly as `rpt prepare` builds them (Preparer.swift): ids =
// BOS + encode(document), byte spans from `TokenByteSpans`, continuation = the document bytes of x_t … x_{t+h−1},
// boundaries = their cumulative byte lengths ("1." gives [1, 2], so "1" and "1." both earn the prefix-matching
// reward; "1x", "" or "12" do not).

import Foundation
@testable import RPT

struct QueueTask {
    /// Digits per document.
    var digits = 6
    /// Tokens of continuation kept after x_t (clipped at the document's end), as `rpt prepare --horizon`.
    var horizon = 8

    /// One problem: its digits.
    func problem(_ rng: inout RandomGenerator) -> [Int] {
        (0..<digits).map { _ in Int(rng.next() % 10) }
    }

    /// The queue length after each digit (the last one is the answer).
    func lengths(_ d: [Int]) -> [Int] {
        var q = 0
        return d.map { x in q = max(0, q + (x % 2 == 1 ? 1 : -1)); return q }
    }

    func answer(_ d: [Int]) -> Int { lengths(d).last! }

    /// The corpus document, e.g. "3 8 6 5 1 4=1.".
    func document(_ d: [Int]) -> String { d.map(String.init).joined(separator: " ") + "=\(answer(d))." }

    /// The SFT completion: the reasoning (digit, queue length after it) then the boxed answer, e.g.
    /// "318060511241</think>\boxed{1}" for 3 8 6 5 1 4. With probability `misread` each digit is written down wrong (another
    /// digit) and the queue is then updated with the digit as written: an imperfect reasoner whose every step
    /// follows the rule but whose reading is noisy, so the supervised model reasons correctly with a diffuse
    /// reading distribution that RL can sharpen.
    func completion(_ d: [Int], misread: Double = 0, rng: inout RandomGenerator) -> String {
        let read = d.map { x in misread > 0 && rng.nextUnit() < misread ? (x + 1 + Int(rng.next() % 9)) % 10 : x }
        let q = lengths(read)
        return zip(read, q).map { "\($0)\($1)" }.joined() + "</think>\\boxed{\(q.last!)}"
    }

    /// The position record of the answer token of `d`'s document, built as `rpt prepare` builds records.
    func record(_ d: [Int], docId: String, tokenizer: any Tokenizer) throws -> PositionRecord {
        let text = nfcNormalized(document(d))
        let bytes = Array(text.utf8)
        let (ids, hasBOS) = tokenizer.documentIds(text)
        guard let spans = TokenByteSpans(tokenizer: tokenizer, ids: ids, hasBOS: hasBOS, document: bytes) else {
            throw RPTError("token bytes do not spell the document", file: docId)
        }
        // x_t: the token that starts right after "=".
        let answerByte = bytes.firstIndex(of: UInt8(ascii: "="))! + 1
        guard let t = spans.starts.indices.first(where: { spans.starts[$0] == answerByte && spans.ends[$0] > answerByte }) else {
            throw RPTError("no token starts at the answer", file: docId)
        }
        let range = spans.continuationRange(from: t, horizon: horizon)
        return PositionRecord(docId: docId, index: t, context: String(decoding: bytes[0..<spans.starts[t]], as: UTF8.self),
                              contextIds: Array(ids[0..<t]), targetId: ids[t],
                              target: String(decoding: bytes[spans.starts[t]..<spans.ends[t]], as: UTF8.self),
                              continuation: Array(bytes[range]), boundaries: spans.boundaries(from: t, horizon: horizon),
                              proxyEntropy: 1.5, proxyLogProb: -1.5) // not read by the trainer
    }
}
