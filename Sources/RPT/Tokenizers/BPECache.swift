// A thread-safe word → ids cache for BPE (tokenizers keeps one per BPE model, for words under 256 bytes, up to a
// fixed capacity). Pre-tokenized words repeat a lot in natural text, so most words skip the merge loop.

import Synchronization

final class BPECache: Sendable {
    static let maxWordBytes = 256
    private let capacity: Int
    private let storage = Mutex(ExactStringDictionary<[Int32]>())

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func get(_ word: String) -> [Int32]? {
        storage.withLock { $0[word] }
    }

    func set(_ word: String, _ ids: [Int32]) {
        storage.withLock { cache in
            if cache.count < capacity { cache[word] = ids }
        }
    }
}
