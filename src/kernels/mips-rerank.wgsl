// Fused MIPS top-k on the int8 index, re-rank: the R candidates of each query (found with int8
// scores) are scored again in f32 (the f32 query against the dequantised row, scale * codes), and
// the best k are kept, ties to the lower row. One workgroup per query.
//
// tfjs prepends:
//   result     : array<i32>        [B, k, 2] (bitcast score, row) pairs, sorted best first
//   queries    : array<vec4<f32>>  [B, dPad/4]
//   codes      : array<vec4<i32>>  [dPad/16, numRows] blocked, as in mips-topk-int8.wgsl
//   scales     : array<f32>        [numRows]
//   candidates : array<i32>        [B, R, 2] from the merge pass (global rows; NONE for empty slots)
//   uniforms   : numRows, dim16, k, numCandidates (= R), rowOffset

const K_MAX = 16u; // capacity of the output list (>= k)
const R_MAX = 256u; // candidates per query at most
const WG = 64u;
const NONE = 2147483647;

var<workgroup> candScore: array<f32, R_MAX>;
var<workgroup> candRow: array<i32, R_MAX>;
var<private> topScore: array<f32, K_MAX>;
var<private> topRow: array<i32, K_MAX>;

fn unpack16(x: vec4<i32>, w: u32) -> vec4<f32> {
  let v = bitcast<u32>(x[w]);
  return vec4<f32>(vec4<i32>(i32(v << 24u), i32(v << 16u), i32(v << 8u), i32(v)) >> vec4<u32>(24u));
}

fn main() {
  let q = workgroupId.y;
  let numRows = u32(uniforms.numRows);
  let dim16 = u32(uniforms.dim16);
  let dim4 = dim16 * 4u;
  let k = u32(uniforms.k);
  let numCandidates = u32(uniforms.numCandidates);

  for (var j = localIndex; j < numCandidates; j = j + WG) {
    let row = candidates[(q * numCandidates + j) * 2u + 1u];
    var s = -uniforms.INFINITY;
    if (row != NONE) {
      let r = u32(row - uniforms.rowOffset);
      var acc = 0.0;
      for (var c = 0u; c < dim16; c = c + 1u) {
        let x = codes[c * numRows + r];
        for (var w = 0u; w < 4u; w = w + 1u) {
          acc = acc + dot(unpack16(x, w), queries[q * dim4 + c * 4u + w]);
        }
      }
      s = acc * scales[r];
    }
    candScore[j] = s;
    candRow[j] = row;
  }
  workgroupBarrier();

  if (localIndex == 0u) {
    for (var i = 0u; i < K_MAX; i = i + 1u) {
      topScore[i] = -uniforms.INFINITY;
      topRow[i] = NONE;
    }
    for (var j = 0u; j < numCandidates; j = j + 1u) {
      let s = candScore[j];
      let row = candRow[j];
      if (!(s > topScore[k - 1u] || (s == topScore[k - 1u] && row < topRow[k - 1u]))) { continue; }
      var m = k - 1u;
      loop {
        if (m == 0u) { break; }
        let t = topScore[m - 1u];
        let u = topRow[m - 1u];
        if (!(s > t || (s == t && row < u))) { break; }
        topScore[m] = t;
        topRow[m] = u;
        m = m - 1u;
      }
      topScore[m] = s;
      topRow[m] = row;
    }
    let out = q * k * 2u;
    for (var j = 0u; j < k; j = j + 1u) {
      result[out + 2u * j] = bitcast<i32>(topScore[j]);
      result[out + 2u * j + 1u] = topRow[j];
    }
  }
}
