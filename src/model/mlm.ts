// The plain-MLM warm start of the knowledge-augmented encoder (docs/realm.md, bias 4): BERT masking on the
// corpus. mlmProbability of the ordinary tokens are chosen; of those 80% become [MASK], 10% a random
// wordpiece, 10% stay. The loss is the cross-entropy of the tied MLM head at the chosen positions.
// An input is a whole passage `[CLS] title [SEP] body [SEP]`, or (mlmPairProbability) BERT's own
// input, two segments of one document, laid out as the reader's `[CLS] x [SEP] title [SEP] body [SEP]`:
// one sentence of a passage, then the passage without it (sentencePairInput). Such a pair is masked
// like the rest (mlmPairMasking 'random'), or (mlmPairMasking 'salient', salientPairInput) it is one of
// REALM's training queries, its salient span masked, followed by the rest of its own passage: the
// reader learns to look for the span in a second segment, which REALM's retrieved documents need.
// With mlmPairMasking 'answer' the query is followed by another passage that holds its span
// (answerHolders), as a retrieved document would: the reader learns to copy the answer from one.
import * as tf from '@tensorflow/tfjs';
import { padBatch, type ForwardCtx } from './bert';
import { CLS_ID, MASK_ID, SEP_ID } from '../corpus/tokenizer';
import type { RealmConfig } from './config';
import { containsSpan, maskedAnswer, type TrainingData } from '../corpus/data';
import { readerInput } from './knowledge-encoder';
import { cutQuery } from './realm-step';
import { type RealmQuery } from '../corpus/data';
import type { RealmModel } from './realm-model';
import type { Rng } from '../corpus/rng';

const FIRST_WORDPIECE = 5; // ids below are PAD, UNK, CLS, SEP, MASK

/** A position the MLM loss is taken at, and the wordpiece that was there. */
interface MlmPick {
  pos: number;
  target: number;
}

/** An MLM warm-up input: tokens to BERT-mask, or a salient pair whose masks are already chosen. */
export type MlmInput = ArrayLike<number> | { ids: ArrayLike<number>; picks: readonly MlmPick[] };

interface MlmBatch {
  rows: number[][]; // masked inputs
  positions: Int32Array; // [B*M], 0 where padded
  targets: Int32Array; // [B*M], -1 where padded
  m: number;
}

/**
 * A sentence pair in the reader's format: `[CLS] sentence [SEP]` (cut to maxQueryLength) followed by
 * `rest`, the passage's `[CLS] title [SEP] body [SEP]` with that sentence cut out (readerInput drops its
 * [CLS] and cuts it to maxReaderLength).
 */
export function sentencePairInput(sentence: readonly number[], rest: ArrayLike<number>, cfg: RealmConfig): Int32Array {
  const x = [CLS_ID, ...sentence.slice(0, Math.max(1, cfg.maxQueryLength - 2)), SEP_ID];
  return readerInput(x, rest, cfg.maxReaderLength);
}

/**
 * A REALM training query q (its salient span masked) followed by `rest`, its own passage with q's
 * sentence cut out, in the reader's layout; the loss is taken at q's masks that survive the cut.
 */
export function salientPairInput(q: RealmQuery, rest: ArrayLike<number>, cfg: RealmConfig): MlmInput {
  const x = cutQuery(q.inputIds, cfg.maxQueryLength);
  const picks: MlmPick[] = [];
  for (let j = 0; j < q.targets.length; j++) {
    if (q.targets[j] >= 0 && q.maskPositions[j] < x.length - 1) picks.push({ pos: q.maskPositions[j], target: q.targets[j] });
  }
  return { ids: readerInput(x, rest, cfg.maxReaderLength), picks };
}

/** For each wordpiece, the rows whose document holds it, ascending (answerHolders' candidates). */
export function wordpiecePostings(docs: readonly ArrayLike<number>[]): Map<number, number[]> {
  const postings = new Map<number, number[]>();
  docs.forEach((tokens, row) => {
    for (const id of new Set(Array.from(tokens))) {
      const rows = postings.get(id);
      if (rows) rows.push(row);
      else postings.set(id, [row]);
    }
  });
  return postings;
}

/**
 * The rows other than `ownRow` whose document holds query `q`'s masked span (its targets, in order), by
 * exact wordpiece match: the documents an 'answer' salient pair may follow the query with. Only the
 * rows holding the span's rarest wordpiece are scanned (`postings`, shared across queries).
 */
export function answerHolders(
  q: RealmQuery,
  docs: readonly ArrayLike<number>[],
  ownRow: number,
  postings = wordpiecePostings(docs),
): number[] {
  const span = maskedAnswer(q);
  if (span.length === 0) return [];
  const rarest = span.map((id) => postings.get(id) ?? []).reduce((a, b) => (b.length < a.length ? b : a));
  return rarest.filter((row) => row !== ownRow && containsSpan(docs[row], span));
}

/**
 * The sentences a sentence pair may start with: every non-empty sentence but the held-out cloze items'
 * (a held-out item without its sentence index keeps its whole passage out) and the held-out passages'
 * (those of heldOutSpans), as { row, sentence }.
 */
export function pairSentences(
  data: Pick<TrainingData, 'passages' | 'heldOut' | 'heldOutSpans'>,
): { row: number; sentence: number }[] {
  const held = new Set(data.heldOut.map((q) => `${q.sourceDocId}:${q.sourceSentence ?? '*'}`));
  for (const q of data.heldOutSpans ?? []) held.add(`${q.sourceDocId}:*`);
  return data.passages.flatMap((p, row) =>
    p.sentences.flatMap((s, sentence) =>
      s.length > 0 && !held.has(`${p.id}:${sentence}`) && !held.has(`${p.id}:*`) ? [{ row, sentence }] : [],
    ),
  );
}

/** BERT-masks each input (a passage, or a sentence pair from sentencePairInput); salient pairs keep their masks. */
export function makeMlmBatch(inputs: readonly MlmInput[], rng: Rng, cfg: RealmConfig): MlmBatch {
  const rows: number[][] = [];
  const chosen: MlmPick[][] = [];
  for (const input of inputs) {
    if ('picks' in input && input.picks.length > 0) {
      rows.push(Array.from(input.ids));
      chosen.push([...input.picks]);
      continue;
    }
    const ids = Array.from('picks' in input ? input.ids : input).slice(0, cfg.maxReaderLength);
    const picks: MlmPick[] = [];
    ids.forEach((id, pos) => {
      if (id < FIRST_WORDPIECE || rng.next() >= cfg.mlmProbability) return;
      picks.push({ pos, target: id });
      const r = rng.next();
      if (r < 0.8) ids[pos] = MASK_ID;
      else if (r < 0.9) ids[pos] = FIRST_WORDPIECE + rng.int(cfg.vocabSize - FIRST_WORDPIECE);
    });
    if (picks.length === 0) {
      // always at least one mask per row: the first ordinary token
      const pos = ids.findIndex((id) => id >= FIRST_WORDPIECE);
      if (pos >= 0) {
        picks.push({ pos, target: ids[pos] });
        ids[pos] = MASK_ID;
      }
    }
    rows.push(ids);
    chosen.push(picks);
  }
  const m = Math.max(1, ...chosen.map((c) => c.length));
  const positions = new Int32Array(rows.length * m);
  const targets = new Int32Array(rows.length * m).fill(-1);
  chosen.forEach((c, i) =>
    c.forEach(({ pos, target }, j) => {
      positions[i * m + j] = pos;
      targets[i * m + j] = target;
    }),
  );
  return { rows, positions, targets, m };
}

/** Mean cross-entropy over the chosen positions, and the share predicted right. */
export function mlmLoss(model: RealmModel, batch: MlmBatch, ctx: ForwardCtx): { loss: tf.Scalar; accuracy: tf.Scalar } {
  return tf.tidy(() => {
    const b = batch.rows.length;
    const { ids, segments } = padBatch(batch.rows, model.config.maxReaderLength);
    const positions = tf.tensor2d(batch.positions, [b, batch.m], 'int32');
    const logits = model.reader.mlmLogits(ids, segments, positions, ctx); // [B, M, V]
    const t = tf.tensor2d(batch.targets, [b, batch.m], 'int32');
    const valid = tf.cast(tf.greaterEqual(t, 0), 'float32'); // [B, M]
    const safe = tf.maximum(t, tf.scalar(0, 'int32'));
    const logp = tf.sum(tf.mul(tf.logSoftmax(logits, -1), tf.oneHot(safe, model.config.vocabSize)), -1); // [B, M]
    const n = tf.maximum(tf.sum(valid), 1);
    const loss = tf.div(tf.neg(tf.sum(tf.mul(logp, valid))), n) as tf.Scalar;
    const right = tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), safe), 'float32'), valid);
    const accuracy = tf.div(tf.sum(right), n) as tf.Scalar;
    return { loss, accuracy };
  });
}
