// The BPE merge loop shared by every tokenizer here (Hugging Face tokenizers `models/bpe/word.rs` merge_all,
// and llama2.c `encode`): repeatedly merge the adjacent pair with the best (lowest) priority, leftmost on ties,
// until no adjacent pair has a merge.
//
// For Hugging Face BPE the priority is the merge's rank (its line in `merges`). For llama2.c it is the dense rank
// of the merged piece's score (higher score first), so equal scores tie and the leftmost pair wins, as in run.c.
// Short words use a linear scan over cached pair priorities; long ones (SentencePiece-style BPE sees whole
// sentences as one word) use a min-heap keyed on (priority, position) with lazy invalidation.

struct BPEMerges: Sendable {
    /// (left id << 32 | right id) → (priority << 32 | merged id).
    private var table: [UInt64: UInt64] = [:]

    var count: Int { table.count }

    init(capacity: Int = 0) { table.reserveCapacity(capacity) }

    /// Records a merge. A repeated pair replaces the earlier entry, as tokenizers' merge map (built with
    /// `collect` into a HashMap) does.
    mutating func add(left: Int32, right: Int32, priority: UInt32, merged: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        table[key] = UInt64(priority) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    @inline(__always)
    private func lookup(_ left: Int32, _ right: Int32) -> UInt64? {
        table[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Merges `symbols` in place.
    func apply(_ symbols: inout [Int32]) {
        if symbols.count < 2 { return }
        if symbols.count <= 48 { applyByScan(&symbols) } else { applyByHeap(&symbols) }
    }

    private static let none = UInt64.max

    /// O(n²) in the worst case, but with one table lookup per merge: `best[i]` caches the priority/merged id of
    /// the pair starting at live symbol i.
    func applyByScan(_ symbols: inout [Int32]) {
        var n = symbols.count
        var best = [UInt64](repeating: BPEMerges.none, count: n)
        for i in 0..<(n - 1) { best[i] = lookup(symbols[i], symbols[i + 1]) ?? BPEMerges.none }
        best[n - 1] = BPEMerges.none
        while true {
            var bi = -1
            var bv = BPEMerges.none
            for i in 0..<(n - 1) where best[i] >> 32 < bv >> 32 {
                bv = best[i]; bi = i
            }
            if bi < 0 { break }
            symbols[bi] = Int32(truncatingIfNeeded: bv & 0xFFFF_FFFF)
            symbols.remove(at: bi + 1)
            best.remove(at: bi + 1)
            n -= 1
            best[bi] = bi + 1 < n ? (lookup(symbols[bi], symbols[bi + 1]) ?? BPEMerges.none) : BPEMerges.none
            if bi > 0 { best[bi - 1] = lookup(symbols[bi - 1], symbols[bi]) ?? BPEMerges.none }
        }
    }

    /// O(n log n): a linked list of symbols and a heap of candidate merges (priority << 32 | position).
    func applyByHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        var prev = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n {
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = lookup(symbols[i], symbols[i + 1]) { heap.push((m & 0xFFFF_FFFF_0000_0000) | UInt64(i)) }
        }
        while let top = heap.pop() {
            let pos = Int(top & 0xFFFF_FFFF)
            let priority = top >> 32
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = Int(next[pos])
            guard let m = lookup(symbols[pos], symbols[right]), m >> 32 == priority else { continue }
            symbols[pos] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            alive[right] = false
            next[pos] = next[right]
            if next[right] >= 0 { prev[Int(next[right])] = Int32(pos) }
            if prev[pos] >= 0, let m2 = lookup(symbols[Int(prev[pos])], symbols[pos]) {
                heap.push((m2 & 0xFFFF_FFFF_0000_0000) | UInt64(prev[pos]))
            }
            if next[pos] >= 0, let m2 = lookup(symbols[pos], symbols[Int(next[pos])]) {
                heap.push((m2 & 0xFFFF_FFFF_0000_0000) | UInt64(pos))
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i = 0
        while i >= 0 {
            out.append(symbols[i])
            i = Int(next[i])
        }
        symbols = out
    }
}

/// A binary min-heap of UInt64 keys.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && items[l] < items[m] { m = l }
            if r < n && items[r] < items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
