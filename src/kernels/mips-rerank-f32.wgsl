// Fused MIPS top-k on the int8 index, exact re-rank: the R candidates of each query (found with int8
// scores) are scored again in f32 against the f32 rows, and the best k are kept, ties to the lower
// row. One workgroup per query. Only R rows per query are read, so the scan's 4x saving in bytes
// read stands; the f32 rows stay in GPU memory for this (WgslMipsOptions.rerank = 'f32').
//
// tfjs prepends:
//   result     : array<i32>        [B, k, 2] (bitcast score, row) pairs, sorted best first
//   queries    : array<vec4<f32>>  [B, dPad/4] the f32 queries (not rescaled)
//   vectors    : array<vec4<f32>>  [numRows, dPad/4] row-major f32 rows of the shard
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

fn main() {
  let q = workgroupId.y;
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
      for (var c = 0u; c < dim4; c = c + 1u) {
        acc = acc + dot(vectors[r * dim4 + c], queries[q * dim4 + c]);
      }
      s = acc;
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
