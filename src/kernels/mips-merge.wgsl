// Fused MIPS top-k, merge pass: folds `group` sorted partial lists into one, per query.
// Runs repeatedly (numLists -> ceil(numLists / group)) until one list of k remains per query.
//
// tfjs prepends: result : array<i32> [B, numOut, k, 2]; lists : array<i32> [B, numLists, k, 2]
// ((bitcast score, row) pairs, each list sorted best first); uniforms k, numLists, group, numOut.
// Order: higher score first, and on equal scores the lower row first.

const K_MAX = 16u; // capacity of a list (>= k)
const NONE = 2147483647;

var<private> topScore: array<f32, K_MAX>;
var<private> topRow: array<i32, K_MAX>;

fn better(s: f32, row: i32, t: f32, u: i32) -> bool {
  return s > t || (s == t && row < u);
}

fn main() {
  let k = u32(uniforms.k);
  let numLists = u32(uniforms.numLists);
  let group = u32(uniforms.group);
  let numOut = u32(uniforms.numOut);
  let q = globalId.y;
  let o = globalId.x;
  if (o >= numOut) {
    return;
  }
  for (var i = 0u; i < K_MAX; i = i + 1u) {
    topScore[i] = -uniforms.INFINITY;
    topRow[i] = NONE;
  }
  let first = o * group;
  let last = min(first + group, numLists);
  for (var l = first; l < last; l = l + 1u) {
    let base = ((q * numLists + l) * k) * 2u;
    for (var j = 0u; j < k; j = j + 1u) {
      let s = bitcast<f32>(lists[base + 2u * j]);
      let row = lists[base + 2u * j + 1u];
      // Each list is sorted: once an entry misses the top k, the rest of that list does too.
      if (!better(s, row, topScore[k - 1u], topRow[k - 1u])) { break; }
      var m = k - 1u;
      loop {
        if (m == 0u || !better(s, row, topScore[m - 1u], topRow[m - 1u])) { break; }
        topScore[m] = topScore[m - 1u];
        topRow[m] = topRow[m - 1u];
        m = m - 1u;
      }
      topScore[m] = s;
      topRow[m] = row;
    }
  }
  let out = ((q * numOut + o) * k) * 2u;
  for (var j = 0u; j < k; j = j + 1u) {
    result[out + 2u * j] = bitcast<i32>(topScore[j]);
    result[out + 2u * j + 1u] = topRow[j];
  }
}
