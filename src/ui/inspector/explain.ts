// The inspector's tooltips: REALM's terms in a sentence or two each, for a newcomer.
export const EXPLAIN = {
  x: 'x is the masked sentence the model must fill in. The highlighted span is what it cannot see: it reads [MASK] there, and is trained to predict the hidden words.',
  pz: "p(z|x): how much the retriever trusts passage z for sentence x. It is a softmax, over the k candidates, of the relevance score f(x,z) = Embed_input(x) · Embed_doc(z), so the column sums to 1. The reader's answers are mixed with these weights.",
  pTarget:
    'p(y_j|z,x): the probability the reader gives to the true hidden word at mask j when it reads sentence x together with passage z.',
  utility:
    'Retrieval utility: log p(answer | x, this passage) − log p(answer | x, null document), averaged over the masks. Above 0 the passage made the right answer more likely than reading nothing; below 0 it misled the reader.',
  nullDoc:
    'The null document is an empty passage: with it the reader sees the sentence alone. REALM always offers it, so the model can ignore retrieval when no passage helps; its utility is 0 by definition.',
  rank: 'Stale rank: where the index in use put this passage. That index was embedded with older weights (a snapshot θ′), because re-embedding the corpus takes time. "now" ranks the same passages with the current weights θ. ✓ when they agree; a mismatch shows the index is stale.',
  marginal:
    "Marginal prediction p(y|x) = Σ_z p(z|x) · p(y|z,x): the reader's predictions for each candidate passage, mixed with the weights p(z|x). This is what REALM predicts.",
  nullOnly:
    'The prediction reading the null document alone (no retrieval). Compare with the marginal to see what retrieval adds.',
  gold: 'The gold passage: the one this held-out sentence was cut from. It stays in the index, searched and read without the sentence itself, so finding it means the retriever matched the sentence to its context, not to a copy of it. Gold-passage recall@5 in the held-out chart counts how often it is in the top 5.',
  staleness: 'Staleness: steps taken since the snapshot of the weights that embedded the index in use.',
  pin: 'Pin this sentence: it is inspected again after every index refresh, and a chart shows p(z|x) of its passages step by step. The embedding map highlights it too.',
} as const;
