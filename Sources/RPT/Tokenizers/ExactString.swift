// A dictionary key that compares strings by their exact UTF-8 bytes.
//
// Swift's String `==` and hashing use canonical equivalence: "\u{212B}" == "Å" == "A\u{30A}", and "가" + "ᆨ" ==
// "각". Tokenizers are byte-exact (Rust compares bytes, llama2.c uses strcmp), so every vocabulary, added-token and
// cache lookup goes through this key instead of String.

struct ExactString: Hashable, Sendable {
    let value: String

    init(_ value: String) { self.value = value }

    static func == (a: ExactString, b: ExactString) -> Bool {
        a.value.utf8.elementsEqual(b.value.utf8)
    }

    func hash(into hasher: inout Hasher) {
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil {
            for b in value.utf8 { hasher.combine(b) }
        }
        hasher.combine(value.utf8.count)
    }
}

/// A String-keyed dictionary whose keys match byte for byte (see ExactString).
struct ExactStringDictionary<Value: Sendable>: Sendable {
    private var storage: [ExactString: Value] = [:]

    init() {}

    var count: Int { storage.count }

    mutating func reserveCapacity(_ n: Int) { storage.reserveCapacity(n) }

    subscript(key: String) -> Value? {
        get { storage[ExactString(key)] }
        set { storage[ExactString(key)] = newValue }
    }

    /// All entries, in no particular order.
    var entries: [(key: String, value: Value)] { storage.map { ($0.key.value, $0.value) } }
}
