// tfjs-webgpu programs for the fused MIPS top-k. Each wraps one .wgsl file: tfjs prepends the
// bindings (`result`, the inputs named in `variableNames`, `uniforms`) and runs it on its own device,
// so inputs and outputs stay tfjs tensors on the GPU.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import scanF32Source from './mips-topk.wgsl?raw';
import scanInt8Source from './mips-topk-int8.wgsl?raw';
import mergeSource from './mips-merge.wgsl?raw';
import rerankSource from './mips-rerank.wgsl?raw';
import rerankF32Source from './mips-rerank-f32.wgsl?raw';
import unpackSource from './mips-unpack.wgsl?raw';

/** Threads per workgroup in every pass. */
export const WORKGROUP = 64;
/** Largest embedding width the kernels stage in workgroup memory. */
export const MAX_DIM = 256;
/** Most candidates the int8 re-rank keeps per query. */
export const MAX_RERANK = 256;

/**
 * Sets the `const NAME = ...;` declarations of a WGSL source (the file keeps working defaults, so it
 * stays valid WGSL on its own). Throws when a name is missing, so a renamed constant cannot be missed.
 */
export function withConstants(source: string, constants: Record<string, number>): string {
  let out = source;
  for (const [name, value] of Object.entries(constants)) {
    const pattern = new RegExp(`^const ${name} = [^;]+;`, 'm');
    if (!pattern.test(out)) throw new Error(`WGSL constant ${name} not found`);
    out = out.replace(pattern, `const ${name} = ${Math.trunc(value)}u;`);
  }
  return out;
}

/** Capacity of a private top-k list: k rounded up to a power of two (fewer shader variants). */
export function listCapacity(k: number): number {
  let c = 4;
  while (c < k) c *= 2;
  return c;
}

/** Queries per thread: up to 8, fewer for large lists (private memory is QB x K_MAX entries). */
export function queryBlock(b: number, capacity: number): number {
  let qb = b >= 8 ? 8 : b >= 4 ? 4 : b >= 2 ? 2 : 1;
  while (qb > 1 && qb * capacity > 512) qb /= 2;
  return qb;
}

abstract class MipsProgram implements WebGPUProgram {
  abstract variableNames: string[];
  variableComponents?: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms?: string;
  size?: boolean;
  private readonly code: string;

  protected constructor(key: string, code: string, outputShape: number[], dispatch: [number, number, number]) {
    this.shaderKey = key;
    this.code = code;
    this.outputShape = outputShape;
    this.dispatch = dispatch;
    this.dispatchLayout = { x: [1], y: [0] };
  }

  getUserCode(): string {
    return this.code;
  }
}

/** Pass 1 on the f32 index: [B, d/4] queries x blocked [d/4, N] index -> [B, numLists * k * 2] lists. */
export class ScanF32Program extends MipsProgram {
  variableNames = ['queries', 'index', 'excluded'];
  override variableComponents = [4, 4, 1];
  override uniforms = 'numRows : i32, dim4 : i32, k : i32, numLists : i32, rowOffset : i32,';

  constructor(b: number, k: number, numLists: number) {
    const capacity = listCapacity(k);
    const qb = queryBlock(b, capacity);
    super(
      `mipsScanF32_${capacity}_${qb}`,
      withConstants(scanF32Source, { K_MAX: capacity, QB: qb, WG: WORKGROUP, D4_MAX: MAX_DIM / 4 }),
      [b, numLists * k * 2],
      [Math.ceil(numLists / WORKGROUP), Math.ceil(b / qb), 1],
    );
  }
}

/** Pass 1 on the int8 index: candidates by int8 score, [B, numLists * R * 2] lists. */
export class ScanInt8Program extends MipsProgram {
  variableNames = ['queries', 'codes', 'scales', 'excluded'];
  override variableComponents = [4, 4, 1, 1];
  override uniforms = 'numRows : i32, dim16 : i32, k : i32, numLists : i32, rowOffset : i32,';

  constructor(b: number, r: number, numLists: number, builtinDot4: boolean) {
    const capacity = listCapacity(r);
    const qb = queryBlock(b, capacity);
    let code = withConstants(scanInt8Source, { K_MAX: capacity, QB: qb, WG: WORKGROUP, D16_MAX: MAX_DIM / 16 });
    if (!builtinDot4) code = code.replace(/dot4I8Packed\(/g, 'dot4I8Unpacked(');
    super(
      `mipsScanInt8_${capacity}_${qb}_${builtinDot4 ? 'dot4' : 'unpacked'}`,
      code,
      [b, numLists * r * 2],
      [Math.ceil(numLists / WORKGROUP), Math.ceil(b / qb), 1],
    );
  }
}

/** Merge: [B, numLists * k * 2] -> [B, ceil(numLists / group) * k * 2]. */
export class MergeProgram extends MipsProgram {
  variableNames = ['lists'];
  override uniforms = 'k : i32, numLists : i32, group : i32, numOut : i32,';

  constructor(b: number, k: number, numOut: number) {
    const capacity = listCapacity(k);
    super(
      `mipsMerge_${capacity}`,
      withConstants(mergeSource, { K_MAX: capacity }),
      [b, numOut * k * 2],
      [Math.ceil(numOut / WORKGROUP), b, 1],
    );
  }
}

/** int8 re-rank on the dequantised rows (no f32 copy): R candidates per query -> best k, [B, k * 2]. */
export class RerankInt8Program extends MipsProgram {
  variableNames = ['queries', 'codes', 'scales', 'candidates'];
  override variableComponents = [4, 4, 1, 1];
  override uniforms = 'numRows : i32, dim16 : i32, k : i32, numCandidates : i32, rowOffset : i32,';

  constructor(b: number, k: number) {
    const capacity = listCapacity(k);
    super(
      `mipsRerankInt8_${capacity}`,
      withConstants(rerankSource, { K_MAX: capacity, R_MAX: MAX_RERANK, WG: WORKGROUP }),
      [b, k * 2],
      [1, b, 1],
    );
  }
}

/** Exact re-rank for the int8 index: R candidates per query scored against the f32 rows -> [B, k * 2]. */
export class RerankF32Program extends MipsProgram {
  variableNames = ['queries', 'vectors', 'candidates'];
  override variableComponents = [4, 4, 1];
  override uniforms = 'numRows : i32, dim16 : i32, k : i32, numCandidates : i32, rowOffset : i32,';

  constructor(b: number, k: number) {
    const capacity = listCapacity(k);
    super(
      `mipsRerankF32_${capacity}`,
      withConstants(rerankF32Source, { K_MAX: capacity, R_MAX: MAX_RERANK, WG: WORKGROUP }),
      [b, k * 2],
      [1, b, 1],
    );
  }
}

/** Final list [B, k * 2] -> scores [B, k] (component 0, float32) or rows [B, k] (component 1, int32). */
export class UnpackProgram extends MipsProgram {
  variableNames = ['lists'];
  override uniforms = 'component : i32,';
  override size = true;

  constructor(b: number, k: number) {
    super('mipsUnpack', unpackSource, [b, k], [Math.ceil((b * k) / WORKGROUP), 1, 1]);
    this.dispatchLayout = { x: [0, 1] };
  }
}
