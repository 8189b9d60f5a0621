// The command-line parsing the CLIs share (`npm run train`, `import`, `eval`): `--key value` or
// `--key=value`, `--help`/`-h`, and positional arguments where a command takes them. Bad input is a
// CliArgsError whose message names the option and points at `--help`.

/** A command line that cannot be read; the CLIs print its message and exit with status 1. */
export class CliArgsError extends Error {
  constructor(message: string) {
    super(`${message} (see --help)`);
    this.name = 'CliArgsError';
  }
}

export interface CliArgs {
  options: Map<string, string>;
  positional: string[];
}

/** Splits argv; `positional` says how many bare arguments the command takes (default none). */
export function parseCliArgs(argv: readonly string[], positional = 0): CliArgs {
  const options = new Map<string, string>();
  const bare: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') options.set('help', '1');
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const [k, v] = eq >= 0 ? [a.slice(2, eq), a.slice(eq + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) throw new CliArgsError(`option --${k} needs a value`);
      options.set(k, v);
    } else if (bare.length < positional) bare.push(a);
    else throw new CliArgsError(`unexpected argument "${a}"`);
  }
  return { options, positional: bare };
}

/** A number option, or undefined when absent. */
export function numOption(args: Map<string, string>, key: string): number | undefined {
  const v = args.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new CliArgsError(`--${key} must be a number, got "${v}"`);
  return n;
}

/** A 0|1 option as a boolean, or undefined when absent. */
export function flagOption(args: Map<string, string>, key: string): boolean | undefined {
  const v = args.get(key);
  if (v === undefined) return undefined;
  if (v !== '0' && v !== '1') throw new CliArgsError(`--${key} is 0 or 1, got "${v}"`);
  return v === '1';
}

/** Throws on options the command does not know (a typo must not be silently ignored). */
export function checkKnownOptions(args: Map<string, string>, known: readonly string[]): void {
  for (const k of args.keys()) if (k !== 'help' && !known.includes(k)) throw new CliArgsError(`unknown option --${k}`);
}
