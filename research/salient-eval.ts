// Span-level precision and recall of a salient-span tagger against hand-labelled sentences
// (research/fixtures/salient-gold.json). Three ways of matching a predicted span to a gold one:
//   exact          same [start, end) and same type
//   exact-untyped  same [start, end), any type
//   overlap        the spans share at least one character, any type (type-agnostic overlap)
// Precision = matched predicted spans / predicted spans; recall = matched gold spans / gold spans.
import type { SpanType } from '../src/corpus/salient';

export interface GoldSentence {
  sentence: string;
  spans: { text: string; type: SpanType }[];
}

export interface LabelledSpan {
  start: number;
  end: number;
  type: string;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
  predicted: number;
  gold: number;
}

export interface TaggerScores {
  exact: PrecisionRecall;
  exactUntyped: PrecisionRecall;
  overlap: PrecisionRecall;
  /** Exact (typed) scores per gold/predicted type. */
  byType: Record<string, PrecisionRecall>;
}

/** Gold spans with offsets: each span's text is searched from the end of the previous one. */
export function goldOffsets(g: GoldSentence): LabelledSpan[] {
  let at = 0;
  return g.spans.map((s) => {
    const start = g.sentence.indexOf(s.text, at);
    if (start < 0) throw new Error(`gold span "${s.text}" not found in "${g.sentence}" after offset ${at}: fix the fixture`);
    at = start + s.text.length;
    return { start, end: at, type: s.type };
  });
}

function pr(matchedPred: number, predicted: number, matchedGold: number, gold: number): PrecisionRecall {
  const precision = predicted ? matchedPred / predicted : 1;
  const recall = gold ? matchedGold / gold : 1;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, predicted, gold };
}

export function scoreTagger(gold: GoldSentence[], tag: (text: string) => LabelledSpan[]): TaggerScores {
  type Match = (p: LabelledSpan, g: LabelledSpan) => boolean;
  const rules: Record<'exact' | 'exactUntyped' | 'overlap', Match> = {
    exact: (p, g) => p.start === g.start && p.end === g.end && p.type === g.type,
    exactUntyped: (p, g) => p.start === g.start && p.end === g.end,
    overlap: (p, g) => p.start < g.end && g.start < p.end,
  };
  const counts = { exact: [0, 0], exactUntyped: [0, 0], overlap: [0, 0] } as Record<keyof typeof rules, [number, number]>;
  const typeCounts: Record<string, { mp: number; p: number; mg: number; g: number }> = {};
  const tc = (t: string) => (typeCounts[t] ??= { mp: 0, p: 0, mg: 0, g: 0 });
  let predicted = 0;
  let goldCount = 0;
  for (const g of gold) {
    const want = goldOffsets(g);
    const got = tag(g.sentence);
    predicted += got.length;
    goldCount += want.length;
    for (const [name, match] of Object.entries(rules) as [keyof typeof rules, Match][]) {
      counts[name][0] += got.filter((p) => want.some((w) => match(p, w))).length;
      counts[name][1] += want.filter((w) => got.some((p) => match(p, w))).length;
    }
    for (const p of got) {
      tc(p.type).p++;
      if (want.some((w) => rules.exact(p, w))) tc(p.type).mp++;
    }
    for (const w of want) {
      tc(w.type).g++;
      if (got.some((p) => rules.exact(p, w))) tc(w.type).mg++;
    }
  }
  const byType = Object.fromEntries(
    Object.entries(typeCounts)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([t, c]) => [t, pr(c.mp, c.p, c.mg, c.g)]),
  );
  return {
    exact: pr(counts.exact[0], predicted, counts.exact[1], goldCount),
    exactUntyped: pr(counts.exactUntyped[0], predicted, counts.exactUntyped[1], goldCount),
    overlap: pr(counts.overlap[0], predicted, counts.overlap[1], goldCount),
    byType,
  };
}

/** The scores as a markdown table (README). */
export function scoresTable(s: TaggerScores): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row = (name: string, x: PrecisionRecall) =>
    `| ${name} | ${pct(x.precision)} | ${pct(x.recall)} | ${pct(x.f1)} | ${x.predicted} | ${x.gold} |`;
  return [
    '| matching | precision | recall | F1 | predicted spans | gold spans |',
    '| --- | --- | --- | --- | --- | --- |',
    row('exact (boundaries and type)', s.exact),
    row('exact boundaries, any type', s.exactUntyped),
    row('overlap, any type', s.overlap),
    ...Object.entries(s.byType).map(([t, x]) => row(`exact, ${t}`, x)),
  ].join('\n');
}
