// Fused MIPS top-k, pass 1 (scan, f32): every index vector is read once, scored against a block of
// QB queries, and kept only if it enters a running top-k list. No [B, N] score matrix is written.
//
// This is the user part of a tfjs-webgpu program: tfjs prepends the bindings and the builtins
//   result   : array<i32>        partial lists [B, numLists, k, 2] = (bitcast score, row) pairs
//   queries  : array<vec4<f32>>  [B, d/4]
//   index    : array<vec4<f32>>  [d/4, numRows] "blocked": vec4 c of row r sits at c * numRows + r,
//                                so neighbouring threads (rows) read neighbouring addresses
//   excluded : array<i32>        [B] global row to skip for each query (-1: none)
//   uniforms : numRows, dim4, k, numLists, rowOffset (and tfjs's own INFINITY, shapes)
// and the globals localIndex, globalId, workgroupId. The program sets the constants below.
//
// Thread (list p, query block y) scans rows p, p + numLists, p + 2 numLists, ... in increasing order,
// so a score equal to one already kept always belongs to a higher row and loses the tie: the
// strict '>' below breaks ties by the lower row, as the merge pass does with better().

const K_MAX = 16u; // capacity of a list (>= k)
const QB = 4u; // queries scored per thread (a query block)
const WG = 64u; // threads per workgroup
const D4_MAX = 64u; // d / 4 at most (d <= 256)
const NONE = 2147483647; // row of an empty slot: loses every tie

var<workgroup> queryTile: array<vec4<f32>, QB * D4_MAX>; // [QB, d/4] the block's queries
var<private> topScore: array<f32, QB * K_MAX>; // [QB, K_MAX] sorted descending
var<private> topRow: array<i32, QB * K_MAX>;

// Puts (s, row) into list qi, whose last kept entry it beats; shifts the worse ones down.
fn insertCandidate(qi: u32, k: u32, s: f32, row: i32) {
  let base = qi * K_MAX;
  var j = k - 1u;
  loop {
    if (j == 0u) { break; }
    let t = topScore[base + j - 1u];
    let u = topRow[base + j - 1u];
    if (!(s > t || (s == t && row < u))) { break; }
    topScore[base + j] = t;
    topRow[base + j] = u;
    j = j - 1u;
  }
  topScore[base + j] = s;
  topRow[base + j] = row;
}

fn main() {
  let numQueries = u32(uniforms.queriesShape.x);
  let numRows = u32(uniforms.numRows);
  let dim4 = u32(uniforms.dim4);
  let k = u32(uniforms.k);
  let numLists = u32(uniforms.numLists);
  let qBase = workgroupId.y * QB;

  // Stage the block's queries in workgroup memory (padding queries past B with zeros).
  for (var i = localIndex; i < QB * dim4; i = i + WG) {
    let qi = i / dim4;
    let c = i % dim4;
    var v = vec4<f32>(0.0);
    if (qBase + qi < numQueries) {
      v = queries[(qBase + qi) * dim4 + c];
    }
    queryTile[qi * D4_MAX + c] = v;
  }
  workgroupBarrier();

  for (var i = 0u; i < QB * K_MAX; i = i + 1u) {
    topScore[i] = -uniforms.INFINITY;
    topRow[i] = NONE;
  }
  var skip: array<i32, QB>;
  for (var qi = 0u; qi < QB; qi = qi + 1u) {
    skip[qi] = -1;
    if (qBase + qi < numQueries) {
      skip[qi] = excluded[qBase + qi];
    }
  }

  let list = globalId.x;
  if (list >= numLists) {
    return;
  }
  for (var r = list; r < numRows; r = r + numLists) {
    // Reset explicitly: a declaration without initializer inside the loop is not reliably re-zeroed.
    var acc: array<f32, QB>;
    for (var qi = 0u; qi < QB; qi = qi + 1u) { acc[qi] = 0.0; }
    for (var c = 0u; c < dim4; c = c + 1u) {
      let x = index[c * numRows + r];
      for (var qi = 0u; qi < QB; qi = qi + 1u) {
        acc[qi] = acc[qi] + dot(x, queryTile[qi * D4_MAX + c]);
      }
    }
    let row = uniforms.rowOffset + i32(r);
    for (var qi = 0u; qi < QB; qi = qi + 1u) {
      if (acc[qi] > topScore[qi * K_MAX + k - 1u] && row != skip[qi]) {
        insertCandidate(qi, k, acc[qi], row);
      }
    }
  }

  for (var qi = 0u; qi < QB; qi = qi + 1u) {
    let q = qBase + qi;
    if (q >= numQueries) { break; }
    let out = ((q * numLists + list) * k) * 2u;
    for (var j = 0u; j < k; j = j + 1u) {
      result[out + 2u * j] = bitcast<i32>(topScore[qi * K_MAX + j]);
      result[out + 2u * j + 1u] = topRow[qi * K_MAX + j];
    }
  }
}
