// Fused MIPS top-k, pass 1 on the int8 index: the same scan as mips-topk.wgsl, reading a quarter of
// the bytes. Each index row is quantised on its own (row ≈ scale[row] * int8 codes), packed 4 codes
// per u32; the block's queries are quantised here the same way. The int8 score only picks
// candidates: the best R per query go on to the f32 re-rank (mips-rerank-int8.wgsl).
//
// tfjs prepends:
//   result   : array<i32>        partial lists [B, numLists, R, 2] = (bitcast score, row) pairs
//   queries  : array<vec4<f32>>  [B, dPad/4], dPad = d rounded up to 16 (zero padded)
//   codes    : array<vec4<i32>>  [dPad/16, numRows] blocked: 16 codes of row r at c * numRows + r
//   scales   : array<f32>        [numRows]
//   excluded : array<i32>        [B]
//   uniforms : numRows, dim16, k (= R), numLists, rowOffset
// dot4I8Packed is WGSL's packed_4x8_integer_dot_product; where the adapter lacks it the program
// renames the call to dot4I8Unpacked, the shift-and-multiply fallback below.

const K_MAX = 64u; // capacity of a list (>= R)
const QB = 4u; // queries scored per thread
const WG = 64u; // threads per workgroup
const D16_MAX = 16u; // dPad / 16 at most (d <= 256)
const NONE = 2147483647;

var<workgroup> queryCodes: array<vec4<u32>, QB * D16_MAX>; // [QB, dPad/16] packed int8 queries
var<workgroup> queryScale: array<f32, QB>;
var<private> topScore: array<f32, QB * K_MAX>;
var<private> topRow: array<i32, QB * K_MAX>;

fn dot4I8Unpacked(a: u32, b: u32) -> i32 {
  let x = vec4<i32>(i32(a << 24u), i32(a << 16u), i32(a << 8u), i32(a)) >> vec4<u32>(24u);
  let y = vec4<i32>(i32(b << 24u), i32(b << 16u), i32(b << 8u), i32(b)) >> vec4<u32>(24u);
  return dot(x, y);
}

fn dot16(a: vec4<u32>, b: vec4<u32>) -> i32 {
  return dot4I8Packed(a.x, b.x) + dot4I8Packed(a.y, b.y) + dot4I8Packed(a.z, b.z) + dot4I8Packed(a.w, b.w);
}

// Rounds v / scale to int8 (symmetric, [-127, 127]) and packs the 4 codes, x in the low byte.
fn quantize4(v: vec4<f32>, inverseScale: f32) -> u32 {
  let c = vec4<i32>(clamp(round(v * inverseScale), vec4<f32>(-127.0), vec4<f32>(127.0)));
  return (u32(c.x) & 0xffu) | ((u32(c.y) & 0xffu) << 8u) | ((u32(c.z) & 0xffu) << 16u) | (u32(c.w) << 24u);
}

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
  let dim16 = u32(uniforms.dim16);
  let dim4 = dim16 * 4u;
  let k = u32(uniforms.k);
  let numLists = u32(uniforms.numLists);
  let qBase = workgroupId.y * QB;

  // Per-query scale: max |x| / 127 (one thread per query of the block).
  if (localIndex < QB) {
    var m = 0.0;
    if (qBase + localIndex < numQueries) {
      for (var c = 0u; c < dim4; c = c + 1u) {
        let a = abs(queries[(qBase + localIndex) * dim4 + c]);
        m = max(m, max(max(a.x, a.y), max(a.z, a.w)));
      }
    }
    queryScale[localIndex] = m / 127.0;
  }
  workgroupBarrier();
  for (var i = localIndex; i < QB * dim16; i = i + WG) {
    let qi = i / dim16;
    let c = i % dim16;
    var packed = vec4<u32>(0u);
    let s = queryScale[qi];
    if (qBase + qi < numQueries && s > 0.0) {
      let at = (qBase + qi) * dim4 + c * 4u;
      packed = vec4<u32>(
        quantize4(queries[at], 1.0 / s),
        quantize4(queries[at + 1u], 1.0 / s),
        quantize4(queries[at + 2u], 1.0 / s),
        quantize4(queries[at + 3u], 1.0 / s),
      );
    }
    queryCodes[qi * D16_MAX + c] = packed;
  }
  workgroupBarrier();

  for (var i = 0u; i < QB * K_MAX; i = i + 1u) {
    topScore[i] = -uniforms.INFINITY;
    topRow[i] = NONE;
  }
  var skip: array<i32, QB>;
  var qScale: array<f32, QB>;
  for (var qi = 0u; qi < QB; qi = qi + 1u) {
    skip[qi] = -1;
    if (qBase + qi < numQueries) {
      skip[qi] = excluded[qBase + qi];
    }
    qScale[qi] = queryScale[qi];
  }

  let list = globalId.x;
  if (list >= numLists) {
    return;
  }
  for (var r = list; r < numRows; r = r + numLists) {
    // Reset explicitly: a declaration without initializer inside the loop is not reliably re-zeroed.
    var acc: array<i32, QB>;
    for (var qi = 0u; qi < QB; qi = qi + 1u) { acc[qi] = 0; }
    for (var c = 0u; c < dim16; c = c + 1u) {
      let x = bitcast<vec4<u32>>(codes[c * numRows + r]);
      for (var qi = 0u; qi < QB; qi = qi + 1u) {
        acc[qi] = acc[qi] + dot16(x, queryCodes[qi * D16_MAX + c]);
      }
    }
    let row = uniforms.rowOffset + i32(r);
    let rowScale = scales[r];
    for (var qi = 0u; qi < QB; qi = qi + 1u) {
      let s = f32(acc[qi]) * rowScale * qScale[qi];
      if (s > topScore[qi * K_MAX + k - 1u] && row != skip[qi]) {
        insertCandidate(qi, k, s, row);
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
