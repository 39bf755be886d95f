// Rotary position embedding in the Hugging Face "rotate_half" convention (transformers
// `apply_rotary_pos_emb`): for each head, (x1, x2) = (x[:d/2], x[d/2:]),
// out = (x1·cos − x2·sin, x2·cos + x1·sin), with tables cos/sin[pos][d/2]. The backward pass is the
// inverse rotation (sin negated), since the rotation is orthogonal.

public enum Rope {
    /// Rotates `rows` rows of `heads` heads of size `headDim` in place; row r sits at position positions[r].
    public static func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
                             positions: UnsafePointer<Int32>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                             inverse: Bool = false) {
        let half = headDim / 2
        let sign: Float = inverse ? -1 : 1
        let stride = heads * headDim
        for r in 0..<rows {
            let c = cos + Int(positions[r]) * half
            let s = sin + Int(positions[r]) * half
            let sgn = V16(repeating: sign)
            for h in 0..<heads {
                let x1 = x + r * stride + h * headDim
                let x2 = x1 + half
                var i = 0
                while i + 16 <= half {
                    let a = load16(x1 + i), b = load16(x2 + i), cv = load16(c + i), sv = load16(s + i) * sgn
                    store16(a * cv - b * sv, x1 + i)
                    store16(b * cv + a * sv, x2 + i)
                    i += 16
                }
                while i < half {
                    let a = x1[i], b = x2[i], si = s[i] * sign
                    x1[i] = a * c[i] - b * si
                    x2[i] = b * c[i] + a * si
                    i += 1
                }
            }
        }
    }
}
