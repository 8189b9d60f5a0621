// The names of the masking strategies, free of the maskers' dependencies (the salient-span tagger), so
// that the model config and the run-archive reader worker can check a name without loading them.

/** How REALM queries are masked: salient spans (REALM's choice) or the ablations. */
export const MASKING_STRATEGIES = ['salient', 'random-token', 'random-span'] as const;
export type MaskingStrategy = (typeof MASKING_STRATEGIES)[number];
