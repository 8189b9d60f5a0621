// A passage as the inspector shows it: its title and its text, with the answer marked. Everything is
// rendered as React text (never parsed as HTML), so a passage holding "<img onerror=...>" or
// "<script>" shows those characters literally.
import { markedPieces, type Ranges } from './highlight';

export function MarkedText({ text, ranges }: { text: string; ranges: Ranges }) {
  return (
    <>{markedPieces(text, ranges).map((p, i) => (p.marked ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</>
  );
}

interface PassageViewProps {
  title: string;
  text: string;
  /** Where the answer occurs in the title and in the text. */
  titleRanges?: Ranges;
  textRanges?: Ranges;
  /** Show only the start of the text (CSS clamps it to a few lines). */
  excerpt?: boolean;
}

export function PassageView({ title, text, titleRanges = [], textRanges = [], excerpt = false }: PassageViewProps) {
  return (
    <div className="passage" data-testid="passage">
      <div className="passage-title">
        <MarkedText text={title} ranges={titleRanges} />
      </div>
      <p className={excerpt ? 'passage-text passage-excerpt' : 'passage-text'}>
        <MarkedText text={text} ranges={textRanges} />
      </p>
    </div>
  );
}
