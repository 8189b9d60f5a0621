// A plain-number reference of the REALM loss and its gradients, written independently of tfjs (loops
// over float64 numbers, gradients derived by hand). Used by the tests to check realm-loss.ts.
//
// Derivation. Let p_z = softmax(s)_z, l_zj = log p(y_j|z,x), q = a posterior over z.
//   d log p_z / d s_w = [z = w] - p_w;  d l_zj / d logit_zjv = [v = y_j] - softmax(logit_zj)_v.
//   per-mask: L_j = logsumexp_z (log p_z + l_zj); dL_j/d log p_z = dL_j/d l_zj = q_zj (posterior of z given y_j).
//   joint:    L = logsumexp_z (log p_z + sum_j l_zj); dL/d log p_z = dL/d l_zj = q_z.
import type { Marginalisation } from './config';

interface ReferenceResult {
  loss: number;
  gradScores: number[][]; // [B][K]
  gradLogits: number[][][][]; // [B][K][M][V]
  retrievalUtility: (number | null)[]; // [B]
}

function logsumexp(xs: number[]): number {
  const mx = Math.max(...xs);
  let s = 0;
  for (const x of xs) s += Math.exp(x - mx);
  return mx + Math.log(s);
}

function logSoftmax(xs: number[]): number[] {
  const l = logsumexp(xs);
  return xs.map((x) => x - l);
}

export function realmLossReference(
  scores: number[][],
  logits: number[][][][],
  targets: number[][],
  mode: Marginalisation,
): ReferenceResult {
  const B = scores.length;
  const K = scores[0].length;
  const M = targets[0].length;
  const V = logits[0][0][0].length;
  const validRows = targets.filter((row) => row.some((t) => t >= 0)).length;
  if (validRows === 0) throw new Error('no valid mask');
  const gradScores = scores.map((r) => r.map(() => 0));
  const gradLogits = logits.map((r) => r.map((z) => z.map((j) => j.map(() => 0))));
  const utility: (number | null)[] = [];
  let total = 0;
  for (let b = 0; b < B; b++) {
    const js = [...Array(M).keys()].filter((j) => targets[b][j] >= 0);
    if (js.length === 0) {
      utility.push(null);
      continue;
    }
    const logPz = logSoftmax(scores[b]);
    const pz = logPz.map(Math.exp);
    // l[z][j] and softmax over V for each (z, j)
    const l: number[][] = [];
    const soft: number[][][] = [];
    for (let z = 0; z < K; z++) {
      l.push([]);
      soft.push([]);
      for (let j = 0; j < M; j++) {
        const ls = logSoftmax(logits[b][z][j]);
        soft[z].push(ls.map(Math.exp));
        l[z].push(targets[b][j] >= 0 ? ls[targets[b][j]] : 0);
      }
    }
    // dLb/d log p_z and dLb/d l_zj, where Lb = log p(y|x) of this row
    const dLogPz = new Array<number>(K).fill(0);
    const dl = [...Array(K)].map(() => new Array<number>(M).fill(0));
    let logLik: number;
    if (mode === 'per-mask') {
      let sum = 0;
      let ru = 0;
      for (const j of js) {
        const terms = logPz.map((lp, z) => lp + l[z][j]);
        const Lj = logsumexp(terms);
        sum += Lj;
        ru += Lj - l[0][j];
        for (let z = 0; z < K; z++) {
          const q = Math.exp(terms[z] - Lj);
          dLogPz[z] += q / js.length;
          dl[z][j] += q / js.length;
        }
      }
      logLik = sum / js.length;
      utility.push(ru / js.length);
    } else {
      const sums = l.map((row) => js.reduce((acc, j) => acc + row[j], 0));
      const terms = logPz.map((lp, z) => lp + sums[z]);
      logLik = logsumexp(terms);
      utility.push(logLik - sums[0]);
      for (let z = 0; z < K; z++) {
        const q = Math.exp(terms[z] - logLik);
        dLogPz[z] = q;
        for (const j of js) dl[z][j] = q;
      }
    }
    total += logLik;
    // chain rule to the scores and the logits; the loss is -(1/validRows) sum_b Lb
    const scale = -1 / validRows;
    const sumD = dLogPz.reduce((a, x) => a + x, 0);
    for (let w = 0; w < K; w++) gradScores[b][w] = scale * (dLogPz[w] - pz[w] * sumD);
    for (let z = 0; z < K; z++) {
      for (const j of js) {
        for (let v = 0; v < V; v++) {
          gradLogits[b][z][j][v] = scale * dl[z][j] * ((v === targets[b][j] ? 1 : 0) - soft[z][j][v]);
        }
      }
    }
  }
  return { loss: -total / validRows, gradScores, gradLogits, retrievalUtility: utility };
}
