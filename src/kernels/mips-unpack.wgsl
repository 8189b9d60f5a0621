// Fused MIPS top-k, last step: splits the final packed list [B, k, 2] into scores [B, k] (float32
// output, `component` 0) or rows [B, k] (int32 output, `component` 1).
// tfjs prepends: result (the output), lists : array<i32> [B, k * 2], uniforms.size, uniforms.component.

fn main(flatIndex: i32) {
  if (flatIndex < uniforms.size) {
    let v = lists[flatIndex * 2 + uniforms.component];
    if (uniforms.component == 0) {
      setOutputAtIndex(flatIndex, bitcast<f32>(v));
    } else {
      setOutputAtIndexI32(flatIndex, v);
    }
  }
}
