// How the Ask panel marks a document's best spans: the body cut into segments at every span boundary,
// each segment with the spans covering it (their scores), and whether the predicted answer covers it.
// Spans may overlap ("Netherlands" inside "the Netherlands"); a segment is marked when any span covers
// it. Plain data: the panel renders every segment as React text, never as HTML.
import type { AnswerSpan } from '../model/qa-answer';

export interface SpanSegment {
  text: string;
  /** The scores of the spans covering the segment, best first (empty: not marked). */
  scores: number[];
  /** The predicted answer's span covers it. */
  answer: boolean;
}

/** `body` cut at the boundaries of `spans` and of `answer` ([charStart, charEnd) in the body). */
export function spanSegments(body: string, spans: readonly AnswerSpan[], answer: [number, number] | null = null): SpanSegment[] {
  const valid = spans.filter((s) => s.charStart >= 0 && s.charEnd > s.charStart && s.charEnd <= body.length);
  const cuts = new Set<number>([0, body.length]);
  for (const s of valid) cuts.add(s.charStart).add(s.charEnd);
  if (answer) cuts.add(Math.max(0, Math.min(body.length, answer[0]))).add(Math.max(0, Math.min(body.length, answer[1])));
  const at = [...cuts].sort((a, b) => a - b);
  const out: SpanSegment[] = [];
  for (let i = 0; i + 1 < at.length; i++) {
    const [a, b] = [at[i], at[i + 1]];
    if (b <= a) continue;
    const scores = valid
      .filter((s) => s.charStart <= a && s.charEnd >= b)
      .map((s) => s.score)
      .sort((x, y) => y - x);
    const inAnswer = !!answer && answer[0] <= a && answer[1] >= b;
    const last = out.at(-1);
    // Neighbours covered by the same spans are one segment.
    if (last && last.answer === inAnswer && last.scores.join() === scores.join()) last.text += body.slice(a, b);
    else out.push({ text: body.slice(a, b), scores, answer: inAnswer });
  }
  return out;
}

/** p(z|x) and scores as the panel prints them. */
export const formatProbability = (p: number): string => (Number.isFinite(p) ? p.toFixed(3) : '–');
export const formatScore = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
